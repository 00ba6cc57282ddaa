"""What several features share: the engine link (context, host, bridge), background
calls, the action table, the theme, formats and small widgets."""
