"""Interoperability with AWS Config: its delivery files and API shapes, in and out."""
