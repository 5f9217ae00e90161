"""Renderers: templates to Markdown, Markdown to every output format."""
