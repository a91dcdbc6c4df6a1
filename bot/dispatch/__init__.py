"""Dispatch: Core turns an Invocation into a Reply; the Context a handler gets; spam and workload limits."""
