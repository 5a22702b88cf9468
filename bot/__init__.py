"""Chat front ends (Discord, Slack, local web chat) over one job queue."""
