"""One module per document: it turns (content, locale, paper, patient) into a PDF."""
