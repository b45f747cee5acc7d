"""selfplay policy host: tiny byte-level transformers served over an
OpenAI-compatible sampling API and the Tinker training API."""

__version__ = '0.1.0'
