"""API resources are registered by importing their modules here."""
