"""What the body did: smoothing, kinematics, rep segmentation, the exercise."""
