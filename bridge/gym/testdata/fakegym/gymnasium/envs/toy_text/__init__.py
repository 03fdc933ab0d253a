"""The toy-text helpers the stand-ins use."""
