"""Streamlit glue shared by the pages (language, common widgets). Libraries never import this."""
