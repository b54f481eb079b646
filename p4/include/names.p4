/* wphw — P4Info naming.
 *
 * Every table, action and direct extern carries an absolute @name so that its P4Info full name
 * is "<ingress control>.<short name>" (MyIngress.wp_sff on v1model, pipe.Ingress.wp_sff on TNA)
 * although it is declared in a per-file control. The top file defines WP_PREFIX first.
 */
#ifndef WPHW_NAMES_P4
#define WPHW_NAMES_P4

#ifndef WP_PREFIX
#error "define WP_PREFIX (e.g. .MyIngress) before including names.p4"
#endif

#define WP_STR_(x) #x
#define WP_STR(x) WP_STR_(x)
#define WP_NAME(n) @name(WP_STR(WP_PREFIX.n))

#endif /* WPHW_NAMES_P4 */
