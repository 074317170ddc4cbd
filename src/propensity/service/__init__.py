"""Domain logic of the service: plain Python over ports, testable without AWS."""
