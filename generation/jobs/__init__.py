"""Job queues: one interface (`JobQueue`), an embedded asyncio backend with warm worker processes."""
