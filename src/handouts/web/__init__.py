"""`handouts serve`: the pharmacy counter page (a local web page that makes a patient's
wallet card and handout). Loaded only by that command."""
