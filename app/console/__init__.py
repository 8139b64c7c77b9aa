"""The operators' web console: server-rendered pages over the same service functions as the
operator API, signed in with a session cookie, every form CSRF-protected, every change audited."""
