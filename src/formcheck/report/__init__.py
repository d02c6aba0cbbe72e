"""Outputs: the JSON/CSV report, the HTML page, the annotated video and its drawing."""
