/* wphw — wp_ratelimit: in-switch rate limiting service (direct meter per service path hop,
 * measured in bytes). Red -> drop; green or yellow -> SI - 1.
 */
#ifndef WPHW_WP_RATELIMIT_P4
#define WPHW_WP_RATELIMIT_P4

#include "headers.p4"
#include "names.p4"

control WpRatelimit(inout headers_t hdr, inout wp_meta_t meta) {
    WP_DIRECT_METER(wp_ratelimit_meter)

    WP_NAME(ratelimit_check)
    action ratelimit_check() {
        WP_METER_READ(wp_ratelimit_meter, meta.meter_color)
        meta.rl_hit = 1;
    }

    WP_NAME(wp_ratelimit)
    table wp_ratelimit {
        key = {
            hdr.nsh.spi : exact @name("spi");
            hdr.nsh.si  : exact @name("si");
        }
        actions = {
            ratelimit_check;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        meters = wp_ratelimit_meter;
        size = 1024;
    }

    apply {
        if (meta.drop == 0) {
            meta.rl_hit = 0;
            meta.meter_color = 0;
            wp_ratelimit.apply();
            if (meta.rl_hit == 1) {
                if (meta.meter_color == WP_COLOR_RED) {
                    meta.drop = 1;
                } else {
                    hdr.nsh.si = hdr.nsh.si - 1;
                }
            }
        }
    }
}

#endif /* WPHW_WP_RATELIMIT_P4 */
