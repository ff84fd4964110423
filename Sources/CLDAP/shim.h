// OpenLDAP's client library (libldap2-dev), for the directory client in GatehouseDirectory.
// A few macros are casts or strings that Swift cannot import; they are re-exported here as
// functions.
#ifndef GATEHOUSE_CLDAP_SHIM_H
#define GATEHOUSE_CLDAP_SHIM_H

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <lber.h>

static inline int cldap_scope_subtree(void) { return LDAP_SCOPE_SUBTREE; }
static inline int cldap_scope_base(void) { return LDAP_SCOPE_BASE; }
static inline const char *cldap_control_paged_results(void) { return LDAP_CONTROL_PAGEDRESULTS; }
static inline int cldap_tls_demand(void) { return LDAP_OPT_X_TLS_DEMAND; }
static inline int cldap_opt_success(void) { return LDAP_OPT_SUCCESS; }

// Puts liblber's read-ahead layer on the open connection, just above the socket (below TLS,
// if any): the answers are then read 16 KiB at a time instead of with a few small reads and a
// poll per message. Call it once the connection is open (after a bind, or a first request).
static inline int cldap_add_readahead(LDAP *ld) {
    Sockbuf *sb = NULL;
    if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL) return -1;
    return ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, NULL);
}

#endif
