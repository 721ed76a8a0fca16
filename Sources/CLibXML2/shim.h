#ifndef TOOLATLAS_LIBXML2_SHIM_H
#define TOOLATLAS_LIBXML2_SHIM_H
// Debian builds libxml2 with ICU; its headers then clash with Foundation's ICU.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

/// xmlFree is a global function pointer, which Swift 6 rejects as shared mutable state.
static inline void toolatlas_xmlFree(void *p) { xmlFree(p); }
#endif
