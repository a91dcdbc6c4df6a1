"""Pictures the core draws (PNG bytes), off the event loop."""
