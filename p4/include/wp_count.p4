/* wphw — wp_count: in-switch counting service (direct counter per service path hop; matched
 * like every chain table on the SPI and the SI the packet entered this pass with). */
#ifndef WPHW_WP_COUNT_P4
#define WPHW_WP_COUNT_P4

#include "headers.p4"
#include "names.p4"

control WpCount(inout headers_t hdr, inout wp_meta_t meta) {
    WP_DIRECT_COUNTER(wp_count_counter)

    WP_NAME(count_hit)
    action count_hit() {
        WP_COUNT(wp_count_counter)
    }

    WP_NAME(wp_count)
    table wp_count {
        key = {
            WP_SPI      : exact @name("spi");
            WP_SI       : exact @name("si");
        }
        actions = {
            count_hit;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        counters = wp_count_counter;
        size = WP_SIZE_COUNT;
    }

    apply {
        wp_count.apply();
    }
}

#endif /* WPHW_WP_COUNT_P4 */
