"""The open document: workspace, active model, image cache, mask writer, background jobs, records."""
