/* wphw — wp_ratelimit: in-switch rate limiting service (direct meter per service path hop,
 * measured in bytes). Green -> on; yellow or red (over the committed rate) -> drop.
 *
 * Not green rather than only red: BMv2 checks the committed bucket first and reports yellow
 * when it runs dry, so with the usual single-rate configuration (CIR = PIR, CBS = PBS) it never
 * reports red; Tofino would report red for the same packets. Dropping both is the same
 * behaviour on both targets. Green is 0 on both architectures.
 */
#ifndef WPHW_WP_RATELIMIT_P4
#define WPHW_WP_RATELIMIT_P4

#include "headers.p4"
#include "names.p4"

/* how a packet over the rate is dropped; a top file may defer it (TNA: at the end of the
 * ingress, so that wp_sff, which also writes the drop flag, need not wait for this) */
#ifndef WP_RATELIMIT_DROP
#define WP_RATELIMIT_DROP meta.drop = 1; WP_DROP
#endif

control WpRatelimit(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_DIRECT_METER(wp_ratelimit_meter)

    WP_NAME(ratelimit_check)
    action ratelimit_check() {
        WP_METER_READ(wp_ratelimit_meter, meta.meter_color)
    }

    WP_NAME(wp_ratelimit)
    table wp_ratelimit {
        key = {
            WP_SPI      : exact @name("spi");
            WP_SI       : exact @name("si");
        }
        actions = {
            ratelimit_check;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        meters = wp_ratelimit_meter;
        size = WP_SIZE_RATELIMIT;
    }

    /* over the rate: dropped; WpChain applies wp_sff only to green packets */
    apply {
        wp_ratelimit.apply();
        if (meta.meter_color != 0) {
            WP_RATELIMIT_DROP
        }
    }
}

#endif /* WPHW_WP_RATELIMIT_P4 */
