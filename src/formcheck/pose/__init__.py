"""The pose layer: the model, chunked tracking, and the pose track it produces."""
