"""What the stored data mean: trends, hot spots, emerging issues, alerts, the engine."""
