"""Model families as plug-ins: the registry, the plug-in interface, and (moving here) the families themselves."""
