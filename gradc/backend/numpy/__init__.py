"""The NumPy backend: cost rules, schedule, buffer reuse, input checks, emission, loading."""
