"""Frames in: video files, animated pictures, cameras and streams; what a file really is."""
