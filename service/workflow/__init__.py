"""The approval workflow: drafts, revisions, approval and rejection."""
