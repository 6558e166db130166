"""Lane-level localisation: RTK-GNSS, IMU, wheel speed and camera lane lines in one EKF, on the HD map."""
