"""The review pages people read: HTML from templates, with Chinese or English UI texts."""
