"""The designer: tenant admins reshape their metadata in the browser under
`/t/<tenant>/designer/`, every change going into their draft (`engine.drafts`)."""
