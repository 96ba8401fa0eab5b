"""dfwatch: monitor public news and government releases about deepfake sexual crimes."""

__version__ = "0.1.0"
