"""Optimizers that drive any `value_and_grad`: gradient descent, its update rules and schedules, Newton."""
