"""Getting started: the welcome page, quick setup of an agent, projects, the agent hint."""
