/* The header's inline functions are the module; this file gives SwiftPM a source to build. */
