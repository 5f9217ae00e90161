"""Renderers: templates to Markdown, Markdown to every output format."""

# The output formats (render/formats.py converts to them); here, light, so that the command
# line's options can name them without importing the converter.
FORMATS = ("md", "html", "docx", "pdf")
DEFAULT_FORMATS = "md,docx,pdf"
