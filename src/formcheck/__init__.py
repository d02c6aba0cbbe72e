"""formcheck: rep-by-rep coaching for hip thrusts and glute bridges from video."""

__version__ = "0.1.0"
