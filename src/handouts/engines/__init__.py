"""Thin adapters to the PDF engines. They know paper, fonts and PDF, not the drug."""
