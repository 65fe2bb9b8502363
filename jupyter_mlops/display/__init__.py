"""HTML and text renderings shared by the magics, reports and artifacts."""
