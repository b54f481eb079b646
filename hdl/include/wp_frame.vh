// wp_frame.vh: the frame layouts every wphw RTL block reads or writes, named once.
//
// Byte offsets count from the first byte of the frame (tdata[7:0] of beat 0) or of the header
// named; multi-byte fields are big-endian on the wire. Hand-written (these are protocol
// constants, not registers: the register map is wp_regmap.vh, generated from
// wphw/netfpga/regmap.py); tests/test_hdl_frame.py checks every value against scapy's header
// layouts and wphw.netfpga.cocotb_tb.tuser.

`ifndef WP_FRAME_VH
`define WP_FRAME_VH

// ---- NetFPGA SUME tuser (read on a frame's first beat): C_M/S_AXIS_TUSER_WIDTH of the SUME
// reference pipeline; the fields below, the rest is passed through unchanged
`define WP_TUSER_WIDTH 128
`define WP_TUSER_PKT_LEN_LSB 0
`define WP_TUSER_PKT_LEN_WIDTH 16
`define WP_TUSER_SRC_PORT_LSB 16
`define WP_TUSER_SRC_PORT_WIDTH 8
`define WP_TUSER_DST_PORT_LSB 24
`define WP_TUSER_DST_PORT_WIDTH 8

// ---- Ethernet II
`define WP_ETH_TYPE_OFF 12
`define WP_ETH_HDR_LEN 14
`define WP_ETHERTYPE_IPV4 16'h0800
`define WP_ETHERTYPE_NSH 16'h894F

// ---- NSH (RFC 8300) right after the Ethernet header: base header + service path header
`define WP_NSH_OFF 14
// version: bits [7:6] of this byte
`define WP_NSH_VER_OFF 14
// length in 4-byte words: bits [5:0] of this byte
`define WP_NSH_LEN_OFF 15
// MD type: bits [3:0] of this byte
`define WP_NSH_MD_OFF 16
`define WP_NSH_NEXT_OFF 17
// SPI: 3 bytes; SI: 1 byte; {SPI, SI} is the service path header word (the waypoint's key)
`define WP_NSH_SPI_OFF 18
`define WP_NSH_SI_OFF 21
// first byte after the service path header (a frame shorter than this has no valid NSH)
`define WP_NSH_END 22
`define WP_NSH_MD1 4'd1
`define WP_NSH_MD2 4'd2
`define WP_NSH_NEXT_IPV4 8'd1
// valid NSH: length >= 2 words (base + service path header)
`define WP_NSH_MIN_LEN 6'd2
// IPv4 inside NSH is parsed up to this length (MD type 1 exactly at it: 4 context words)
`define WP_NSH_MAX_IP_LEN 6'd6

// ---- IPv4 header (offsets from its first byte)
`define WP_IPV4_HDR_LEN 20
`define WP_IPV4_TOS_OFF 1
`define WP_IPV4_TOTAL_LEN_OFF 2
// flags [7:5] and fragment offset [12:8] in this byte, fragment offset [7:0] in the next
`define WP_IPV4_FRAG_OFF 6
`define WP_IPV4_TTL_OFF 8
`define WP_IPV4_PROTO_OFF 9
`define WP_IPV4_CSUM_OFF 10
`define WP_IPV4_SRC_OFF 12
`define WP_IPV4_DST_OFF 16
`define WP_IP_PROTO_TCP 8'd6
`define WP_IP_PROTO_UDP 8'd17

// ---- TCP / UDP (offsets from the L4 header)
`define WP_L4_SPORT_OFF 0
`define WP_L4_DPORT_OFF 2
`define WP_TCP_CSUM_OFF 16
`define WP_TCP_DOFF_OFF 12
`define WP_TCP_HDR_LEN 20
`define WP_UDP_CSUM_OFF 6
`define WP_UDP_HDR_LEN 8

// ---- wp_pe_out byte patch: {offset[7:0], len[2:0], value[31:0]}; len 0 = no patch
`define WP_PATCH_WIDTH 43
`define WP_PATCH_NONE 43'd0
// the SI rule of every PE: byte WP_NSH_SI_OFF (21) of the frame becomes si - 1
`define WP_PATCH_SI_DEC(si) {8'd21, 3'd1, 24'd0, (si) - 8'd1}

`endif
