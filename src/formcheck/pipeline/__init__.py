"""The pipeline: frames -> track -> measures -> reps -> checks -> scores (`analyze_path`)."""
