"""Applications built on the library: batch scoring and live coaching."""
