"""notsofar: far-field meeting transcription, scoring, simulation and speech restoration.

Importing the package is cheap: heavy libraries (torch, faster-whisper, meeteval) are imported
inside the functions that need them.
"""

__version__ = "0.1.0"

from notsofar.data import Segment, Transcript, Word
from notsofar.errors import NotsofarError

__all__ = ["NotsofarError", "Segment", "Transcript", "Word", "__version__"]
