/*
 * wphw — wp_chacha20: the waypoint's encrypt / decrypt PE (ChaCha20, RFC 8439).
 *
 * Frame format: docs/encrypt_format.md (reference model: wphw/pe/esp.py). Encrypt inserts a
 * 16-byte header {KEY_ID, SEQ, NEXT, VERSION, 0} after the IPv4 header of an Ethernet/IPv4 or
 * Ethernet/NSH/IPv4 frame and encrypts the IPv4 payload (L4 header included) with the
 * keystream of nonce KEY_ID||SEQ, block counter 1, 2, ...; decrypt removes it again. IPv4
 * total length, protocol and (incrementally, RFC 1624) checksum are rewritten; NSH SI is
 * decremented (CONFIG.DEC_SI). Everything else passes unchanged and is counted.
 *
 * Structure:
 *   ingress  — a one-beat delay register; when beat 1 arrives the frame is classified from
 *              beats 0 and 1, the IPv4/NSH fields are rewritten, a descriptor is queued and,
 *              for processed frames, a keystream request {key, nonce, blocks}.
 *   keystream — wp_chacha20_core (one 64-byte block per cycle, 22 cycles latency) fills a
 *              block FIFO; credits keep the never-stalling core from overflowing it.
 *   egress   — pops data beats, XORs the aligned keystream, and inserts (encrypt) or removes
 *              (decrypt) the 16-byte header by a constant half-beat realignment. Output beats go
 *              through a two-entry queue: a frame's last input beat may push two output beats
 *              (the tail spills over when it holds 17..31 bytes), so the egress never spends a
 *              cycle on the spill beat and decrypt keeps one input beat per cycle for every
 *              frame length.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_chacha20 #
(
    // AXI4-Stream data width (fixed: 256)
    parameter DATA_WIDTH = 256,
    // AXI4-Stream tkeep width
    parameter KEEP_WIDTH = DATA_WIDTH/8,
    // AXI4-Stream tuser width (NetFPGA SUME: pkt_len[15:0], src_port[23:16], dst_port[31:24])
    parameter USER_WIDTH = `WP_TUSER_WIDTH,
    // AXI-Lite address width (the block decodes the low 12 bits)
    parameter AXIL_ADDR_WIDTH = 12,
    // reset value of CONFIG.DECRYPT (0 = encrypt, 1 = decrypt)
    parameter DECRYPT = 0,
    // reset value of CONFIG.DEC_SI (decrement NSH SI of frames passing through)
    parameter DEC_SI = 1,
    // IPv4 protocol number of encrypted packets
    parameter IP_PROTO = 253,
    // data FIFO depth in beats (power of two; must exceed the keystream latency)
    parameter FIFO_DEPTH = 64,
    // keystream FIFO depth in 64-byte blocks (power of two)
    parameter KS_DEPTH = 32
)
(
    input  wire                       clk,
    input  wire                       rst,

    input  wire [DATA_WIDTH-1:0]      s_axis_tdata,
    input  wire [KEEP_WIDTH-1:0]      s_axis_tkeep,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,
    input  wire [USER_WIDTH-1:0]      s_axis_tuser,

    output wire [DATA_WIDTH-1:0]      m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]      m_axis_tkeep,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast,
    output wire [USER_WIDTH-1:0]      m_axis_tuser,

    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire [2:0]                 s_axil_awprot,
    input  wire                       s_axil_awvalid,
    output wire                       s_axil_awready,
    input  wire [31:0]                s_axil_wdata,
    input  wire [3:0]                 s_axil_wstrb,
    input  wire                       s_axil_wvalid,
    output wire                       s_axil_wready,
    output wire [1:0]                 s_axil_bresp,
    output wire                       s_axil_bvalid,
    input  wire                       s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire [2:0]                 s_axil_arprot,
    input  wire                       s_axil_arvalid,
    output wire                       s_axil_arready,
    output wire [31:0]                s_axil_rdata,
    output wire [1:0]                 s_axil_rresp,
    output wire                       s_axil_rvalid,
    input  wire                       s_axil_rready
);

localparam HDR_LEN = 16;
// frame offsets of the formats this PE processes (docs/encrypt_format.md): the IPv4 header of
// Ethernet/IPv4 and of Ethernet/NSH (MD type 2, length 2: no context headers)/IPv4; the first
// encrypted byte (encrypt: where the header goes) and, for decrypt, the first byte after the
// header; R_*: the same inside beat 1
localparam IP_PLAIN = `WP_ETH_HDR_LEN;
localparam IP_NSH = `WP_NSH_END;
localparam ENC_PLAIN = IP_PLAIN + `WP_IPV4_HDR_LEN;
localparam ENC_NSH = IP_NSH + `WP_IPV4_HDR_LEN;
localparam DEC_PLAIN = ENC_PLAIN + HDR_LEN;
localparam DEC_NSH = ENC_NSH + HDR_LEN;
localparam R_PLAIN = ENC_PLAIN - KEEP_WIDTH;
localparam R_NSH = ENC_NSH - KEEP_WIDTH;
localparam FORMAT_VERSION = 8'd1;
localparam DATA_FIFO_WIDTH = USER_WIDTH + 2 + KEEP_WIDTH + DATA_WIDTH;
// descriptor: proc, dec, nsh, pe_in[16:0], nblk[10:0], nhalves[11:0], tuser, header
localparam DESC_WIDTH = 3 + 17 + 11 + 12 + USER_WIDTH + 128;
localparam REQ_WIDTH = 256 + 96 + 11;

initial begin
    if (DATA_WIDTH != 256 || KEEP_WIDTH != 32) begin
        $error("Error: wp_chacha20 supports DATA_WIDTH 256 / KEEP_WIDTH 32 only (instance %m)");
        $finish;
    end
    if (USER_WIDTH < 16) begin
        $error("Error: USER_WIDTH must hold pkt_len[15:0] (instance %m)");
        $finish;
    end
    if (AXIL_ADDR_WIDTH < 12) begin
        $error("Error: AXIL_ADDR_WIDTH must be at least 12 (instance %m)");
        $finish;
    end
    if (IP_PROTO < 0 || IP_PROTO > 255) begin
        $error("Error: IP_PROTO must be 0..255 (instance %m)");
        $finish;
    end
    if (FIFO_DEPTH < 32) begin
        $error("Error: FIFO_DEPTH must be at least 32 beats (instance %m)");
        $finish;
    end
    if (KS_DEPTH < 4) begin
        $error("Error: KS_DEPTH must be at least 4 (instance %m)");
        $finish;
    end
end

function [31:0] bswap32(input [31:0] x);
    bswap32 = {x[7:0], x[15:8], x[23:16], x[31:24]};
endfunction

// ------------------------------------------------------------------------------------------
// Registers: the shared AXI4-Lite slave (wp_axil_regs: byte strobes merged with the register's
// current value, read through the read port below), array decode (wp_reg_arr) and 64-bit
// registers with the HI latch (wp_reg_rd). A partial write keeps the other lanes of the
// register's current value also for write-only KEY and for the HI word of SEQ: the read port
// returns them to the merge read (reg_rd_en low) only; a read returns 0 / the HI latch.
// ------------------------------------------------------------------------------------------

localparam AW = `WP_BLOCK_ADDR_WIDTH;
localparam KEY_BASE = `WP_CHACHA20_REG_KEY;
localparam KEY_WORDS = `WP_CHACHA20_REG_KEY_COUNT;

wire          reg_wr_en;
wire [AW-1:0] reg_wr_addr;
wire [31:0]   reg_wr_data;
wire          reg_rd_en;
wire [AW-1:0] reg_rd_addr;
wire [31:0]   reg_rd_data;

wp_axil_regs #(.ADDR_WIDTH(AW)) axil_regs_inst (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr[AW-1:0]), .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr[AW-1:0]), .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
    .reg_wr_en(reg_wr_en), .reg_wr_addr(reg_wr_addr), .reg_wr_data(reg_wr_data),
    .reg_wr_strb(), .reg_rd_en(reg_rd_en), .reg_rd_addr(reg_rd_addr),
    .reg_rd_data(reg_rd_data)
);

reg        cfg_enable_reg = 1'b0;
reg        cfg_decrypt_reg = DECRYPT;
reg        cfg_dec_si_reg = DEC_SI;
reg [31:0] key_id_reg = 0;
reg [63:0] seq_reg = 0;
reg [31:0] seq_lo_stage_reg = 0;
reg [255:0] key_reg = 0;
reg [63:0] done_pkts_reg = 0;
reg [63:0] bypass_pkts_reg = 0;
reg [63:0] reject_pkts_reg = 0;

wire          wr_key;
wire [AW-1:0] wr_key_idx;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(KEY_BASE), .STRIDE(`WP_CHACHA20_REG_KEY_STRIDE),
    .COUNT(KEY_WORDS)) wr_key_inst (.addr(reg_wr_addr), .hit(wr_key), .idx(wr_key_idx), .off());
wire clear_cmd = reg_wr_en && reg_wr_addr == `WP_CHACHA20_REG_CTRL
    && reg_wr_data[`WP_CHACHA20_REG_CTRL_CLEAR_LSB];
// CONFIG as read back
wire [31:0] cfg_word = ({31'd0, cfg_enable_reg} << `WP_CHACHA20_REG_CONFIG_ENABLE_LSB)
    | ({31'd0, cfg_decrypt_reg} << `WP_CHACHA20_REG_CONFIG_DECRYPT_LSB)
    | ({31'd0, cfg_dec_si_reg} << `WP_CHACHA20_REG_CONFIG_DEC_SI_LSB);

// events from the ingress (below)
wire ev_done, ev_bypass, ev_reject, ev_seq_inc;

integer kw;

always @(posedge clk) begin
    if (ev_seq_inc) seq_reg <= seq_reg + 1;
    if (ev_done) done_pkts_reg <= done_pkts_reg + 1;
    if (ev_bypass) bypass_pkts_reg <= bypass_pkts_reg + 1;
    if (ev_reject) reject_pkts_reg <= reject_pkts_reg + 1;
    if (clear_cmd) begin
        done_pkts_reg <= 0;
        bypass_pkts_reg <= 0;
        reject_pkts_reg <= 0;
    end

    if (reg_wr_en) begin
        case (reg_wr_addr)
            `WP_CHACHA20_REG_CONFIG: begin
                cfg_enable_reg <= reg_wr_data[`WP_CHACHA20_REG_CONFIG_ENABLE_LSB];
                cfg_decrypt_reg <= reg_wr_data[`WP_CHACHA20_REG_CONFIG_DECRYPT_LSB];
                cfg_dec_si_reg <= reg_wr_data[`WP_CHACHA20_REG_CONFIG_DEC_SI_LSB];
            end
            `WP_CHACHA20_REG_KEY_ID: key_id_reg <= reg_wr_data;
            // SEQ: LO is staged, writing HI commits both
            `WP_CHACHA20_REG_SEQ: seq_lo_stage_reg <= reg_wr_data;
            `WP_CHACHA20_REG_SEQ + 4: seq_reg <= {reg_wr_data, seq_lo_stage_reg};
            default: ;
        endcase
        // one compare per word (a variable part-select would map to a shifter over the key)
        for (kw = 0; kw < KEY_WORDS; kw = kw + 1) begin
            if (wr_key && wr_key_idx == kw) key_reg[32*kw +: 32] <= reg_wr_data;
        end
    end

    if (rst) begin
        cfg_enable_reg <= 1'b0;
        cfg_decrypt_reg <= DECRYPT;
        cfg_dec_si_reg <= DEC_SI;
        key_id_reg <= 0;
        seq_reg <= 0;
        seq_lo_stage_reg <= 0;
        key_reg <= 0;
        done_pkts_reg <= 0;
        bypass_pkts_reg <= 0;
        reject_pkts_reg <= 0;
    end
end

// read port
wire          rd_key;
wire [AW-1:0] rd_key_idx;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(KEY_BASE), .STRIDE(`WP_CHACHA20_REG_KEY_STRIDE),
    .COUNT(KEY_WORDS)) rd_key_inst (.addr(reg_rd_addr), .hit(rd_key), .idx(rd_key_idx), .off());
// a 64-bit register is two words: the address of its LO word with bit 2 (HI) cleared
wire [AW-1:0] rd_lo_addr = {reg_rd_addr[AW-1:3], 3'b000};

// key word idx, one compare per word
function [31:0] key_word_at(input [255:0] key, input [AW-1:0] idx);
    integer k;
    begin
        key_word_at = 32'd0;
        for (k = 0; k < KEY_WORDS; k = k + 1) begin
            if (idx == k) key_word_at = key[32*k +: 32];
        end
    end
endfunction

// the block's registers at reg_rd_addr (a function behind continuous assignments, defined from
// time 0 in every simulator). Result: {is_cnt, cnt[63:0], word[31:0]}; the word of SEQ is its
// HI word and KEY's words are the key, both for the write merge only (see above).
function [96:0] rd_mux(
    input [AW-1:0] addr, input [AW-1:0] lo_addr, input merge, input key_hit,
    input [31:0] key_word, input [31:0] cfg, input [31:0] key_id, input [63:0] seq,
    input [63:0] done, input [63:0] bypass, input [63:0] reject
);
    reg [31:0] data;
    reg [63:0] cnt;
    reg        is_cnt;
    begin
        data = 32'd0;
        cnt = 64'd0;
        is_cnt = 1'b0;
        case (lo_addr)
            `WP_CHACHA20_REG_SEQ: begin cnt = seq; is_cnt = 1'b1; data = seq[63:32]; end
            `WP_CHACHA20_REG_DONE_PKTS: begin cnt = done; is_cnt = 1'b1; end
            `WP_CHACHA20_REG_BYPASS_PKTS: begin cnt = bypass; is_cnt = 1'b1; end
            `WP_CHACHA20_REG_REJECT_PKTS: begin cnt = reject; is_cnt = 1'b1; end
            default: ;
        endcase
        case (addr)
            `WP_CHACHA20_REG_ID: data = `WP_CHACHA20_BLOCK_ID;
            `WP_CHACHA20_REG_VERSION: data = `WP_CHACHA20_BLOCK_VERSION;
            `WP_CHACHA20_REG_CONFIG: data = cfg;
            `WP_CHACHA20_REG_KEY_ID: data = key_id;
            default: ;
        endcase
        if (key_hit && merge) data = key_word;
        rd_mux = {is_cnt, cnt, data};
    end
endfunction

wire [96:0] rd_result = rd_mux(reg_rd_addr, rd_lo_addr, !reg_rd_en, rd_key,
    key_word_at(key_reg, rd_key_idx), cfg_word, key_id_reg, seq_reg,
    done_pkts_reg, bypass_pkts_reg, reject_pkts_reg);
// the merge read of a HI word takes the register's word (SEQ's HI word), not the latch
wire rd_merge_hi = !reg_rd_en && reg_rd_addr[2];

wp_reg_rd #(.ADDR_WIDTH(AW)) reg_rd_inst (
    .clk(clk), .rd_en(reg_rd_en), .rd_addr(reg_rd_addr),
    .word(rd_result[31:0]), .cnt_sel(rd_result[96] && !rd_merge_hi), .cnt(rd_result[95:32]),
    .rd_data(reg_rd_data)
);

// ------------------------------------------------------------------------------------------
// Ingress: one-beat delay, classification and header rewrite when beat 1 arrives
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0] r0_data_reg = 0;
reg [KEEP_WIDTH-1:0] r0_keep_reg = 0;
reg                  r0_last_reg = 1'b0;
reg [USER_WIDTH-1:0] r0_user_reg = 0;
reg                  r0_first_reg = 1'b0;
reg                  r0_valid_reg = 1'b0;
reg                  in_first_reg = 1'b1;  // next accepted beat starts a frame

wire data_in_ready, desc_in_ready, req_in_ready;
wire fifos_ready = data_in_ready && desc_in_ready && req_in_ready;

assign s_axis_tready = !r0_valid_reg || fifos_ready;
wire s_fire = s_axis_tvalid && s_axis_tready;
wire push = r0_valid_reg && fifos_ready && (s_axis_tvalid || r0_last_reg);
// beat 0 pushed now; beat 1 (if any) is the incoming beat
wire push_first = push && r0_first_reg;
wire have_b1 = !r0_last_reg;  // with push_first, s_fire holds when have_b1

// bytes 0..63 of the frame
wire [511:0] cat = {s_axis_tdata, r0_data_reg};

// Ethernet + NSH by the rules every block shares (wp_nsh_dec); "holds the header" from beat 0's
// tkeep (a frame's beats are full but for the last)
wire       eth_ipv4, nsh_valid, nsh_ip;
wire [5:0] nsh_len;
wire [3:0] nsh_md;
wire [7:0] nsh_si;

wp_nsh_dec nsh_dec_inst (
    .hdr(cat[`WP_NSH_END*8-1:0]),
    .has_eth(r0_keep_reg[`WP_ETH_HDR_LEN-1]), .has_nsh(r0_keep_reg[`WP_NSH_END-1]),
    .eth_type(), .eth_ipv4(eth_ipv4), .nsh(), .nsh_valid(nsh_valid), .nsh_ip(nsh_ip),
    .ip_cand(), .nsh_len(nsh_len), .nsh_md(nsh_md), .nsh_next(), .spi(), .si(nsh_si), .key(),
    .l3_q()
);

// the NSH this PE encrypts: MD type 2, length 2, IPv4 inside (IPv4 at IP_NSH)
wire nsh_ok = nsh_ip && nsh_len == `WP_NSH_MIN_LEN && nsh_md == `WP_NSH_MD2;
wire ip_plain = eth_ipv4;
// the SI rule of every PE: a valid NSH header (version 0, length >= 2, MD type 1 or 2)
wire nsh_si_ok = nsh_valid;
wire [159:0] ip = nsh_ok ? cat[IP_NSH*8 +: 160] : cat[IP_PLAIN*8 +: 160];
wire [127:0] hdr_in = nsh_ok ? cat[ENC_NSH*8 +: 128] : cat[ENC_PLAIN*8 +: 128];

wire        ip_ver_ok;
wire [3:0]  ihl;
wire [15:0] total_len;
wire [7:0]  ttl;
wire [7:0]  proto;
wire [15:0] csum;

wp_ipv4_dec ipv4_dec_inst (
    .ip(ip), .ver_ok(ip_ver_ok), .ihl(ihl), .ver_ihl(), .tos(), .total_len(total_len),
    .frag_off(), .ttl(ttl), .proto(proto), .csum(csum), .src(), .dst()
);

// IPv4 without options only
wire ver_ihl_ok = ip_ver_ok && ihl == 4'd5;

wire dec = cfg_decrypt_reg;
// the frame holds the IPv4 header (and for decrypt, the encryption header)
wire len_ok = have_b1 && (!s_axis_tlast || (dec
    ? (nsh_ok ? s_axis_tkeep[DEC_NSH - 1 - KEEP_WIDTH] : s_axis_tkeep[DEC_PLAIN - 1 - KEEP_WIDTH])
    : (nsh_ok ? s_axis_tkeep[ENC_NSH - 1 - KEEP_WIDTH] : s_axis_tkeep[ENC_PLAIN - 1 - KEEP_WIDTH])));
wire ipv4_cand = cfg_enable_reg && (ip_plain || nsh_ok) && ver_ihl_ok && len_ok;
wire enc_proc = !dec && ipv4_cand && total_len >= 16'd20 && total_len <= 16'd65519;
wire dec_cand = dec && ipv4_cand && proto == IP_PROTO && total_len >= 16'd36;
wire [31:0] hdr_key_id = bswap32(hdr_in[31:0]);
wire [7:0] hdr_next = hdr_in[12*8 +: 8];
wire [7:0] hdr_version = hdr_in[13*8 +: 8];
wire dec_key_ok = hdr_key_id == key_id_reg && hdr_version == FORMAT_VERSION;
wire proc = enc_proc || (dec_cand && dec_key_ok);

assign ev_done = push_first && proc;
assign ev_reject = push_first && dec_cand && !dec_key_ok;
assign ev_bypass = push_first && !proc && !(dec_cand && !dec_key_ok);
assign ev_seq_inc = push_first && enc_proc;

// encryption header (bytes in stream order) and the resulting nonce
wire [127:0] hdr_out = {16'd0, FORMAT_VERSION, proto, bswap32(seq_reg[31:0]),
    bswap32(seq_reg[63:32]), bswap32(key_id_reg)};
wire [95:0] nonce = dec ? hdr_in[95:0] : hdr_out[95:0];

wire [15:0] new_len = dec ? total_len - 16'd16 : total_len + 16'd16;
wire [7:0] new_proto = dec ? hdr_next : IP_PROTO;
wire [19:0] csum_sum = {4'd0, ~csum} + {4'd0, ~total_len} + {4'd0, new_len}
    + {4'd0, ~{ttl, proto}} + {4'd0, ttl, new_proto};
wire [16:0] csum_f1 = {1'b0, csum_sum[15:0]} + {13'd0, csum_sum[19:16]};
wire [15:0] csum_f2 = csum_f1[15:0] + {15'd0, csum_f1[16]};
wire [15:0] new_csum = ~csum_f2;

wire [16:0] plen = dec ? {1'b0, total_len} - 17'd36 : {1'b0, total_len} - 17'd20;
wire [10:0] nblk = proc ? (plen + 17'd63) >> 6 : 11'd0;
wire [11:0] nhalves = proc ? (plen + 17'd31) >> 5 : 12'd0;
wire [16:0] pe_in = (nsh_ok ? IP_NSH : IP_PLAIN) + {1'b0, total_len};

// rewritten beats 0 and 1. Combinational logic in this module is built from continuous
// assignments (functions behind assign, not always @*): Icarus (-g2012) never runs an always @*
// block whose inputs keep their initial values, which would leave it X from time 0.
function [511:0] rewrite(input [511:0] c, input si_dec, input do_proc, input is_nsh,
    input [15:0] len, input [7:0] pr, input [15:0] cs);
    begin
        rewrite = c;
        if (si_dec) rewrite[`WP_NSH_SI_OFF*8 +: 8] = c[`WP_NSH_SI_OFF*8 +: 8] - 8'd1;
        if (do_proc) begin
            if (is_nsh) begin
                rewrite[(IP_NSH + `WP_IPV4_TOTAL_LEN_OFF)*8 +: 16] = {len[7:0], len[15:8]};
                rewrite[(IP_NSH + `WP_IPV4_PROTO_OFF)*8 +: 8] = pr;
                rewrite[(IP_NSH + `WP_IPV4_CSUM_OFF)*8 +: 16] = {cs[7:0], cs[15:8]};
            end else begin
                rewrite[(IP_PLAIN + `WP_IPV4_TOTAL_LEN_OFF)*8 +: 16] = {len[7:0], len[15:8]};
                rewrite[(IP_PLAIN + `WP_IPV4_PROTO_OFF)*8 +: 8] = pr;
                rewrite[(IP_PLAIN + `WP_IPV4_CSUM_OFF)*8 +: 16] = {cs[7:0], cs[15:8]};
            end
        end
    end
endfunction

wire [511:0] cat_mod = rewrite(cat, nsh_si_ok && cfg_dec_si_reg && nsh_si != 8'd0, proc,
    nsh_ok, new_len, new_proto, new_csum);
// tuser pkt_len follows the frame: HDR_LEN bytes longer (encrypt) or shorter (decrypt)
wire [15:0] pkt_len = r0_user_reg[`WP_TUSER_PKT_LEN_LSB +: `WP_TUSER_PKT_LEN_WIDTH];
wire [15:0] pkt_len_mod = dec ? pkt_len - HDR_LEN : pkt_len + HDR_LEN;
function [USER_WIDTH-1:0] set_pkt_len(input [USER_WIDTH-1:0] u, input [15:0] len);
    begin
        set_pkt_len = u;
        set_pkt_len[`WP_TUSER_PKT_LEN_LSB +: `WP_TUSER_PKT_LEN_WIDTH] = len;
    end
endfunction
wire [USER_WIDTH-1:0] user_mod = proc ? set_pkt_len(r0_user_reg, pkt_len_mod) : r0_user_reg;

always @(posedge clk) begin
    if (s_fire) begin
        r0_data_reg <= (push_first && have_b1) ? cat_mod[511:256] : s_axis_tdata;
        r0_keep_reg <= s_axis_tkeep;
        r0_last_reg <= s_axis_tlast;
        r0_user_reg <= s_axis_tuser;
        r0_first_reg <= in_first_reg;
        r0_valid_reg <= 1'b1;
        in_first_reg <= s_axis_tlast;
    end else if (push) begin
        r0_valid_reg <= 1'b0;
    end
    if (rst) begin
        r0_valid_reg <= 1'b0;
        in_first_reg <= 1'b1;
    end
end

wire [DATA_WIDTH-1:0] push_data = push_first ? cat_mod[255:0] : r0_data_reg;

// ------------------------------------------------------------------------------------------
// FIFOs
// ------------------------------------------------------------------------------------------

wire [DATA_WIDTH-1:0] d_data;
wire [KEEP_WIDTH-1:0] d_keep;
wire                  d_last, d_first, d_valid;
wire [USER_WIDTH-1:0] d_user;
wire                  d_pop;

wp_chacha20_fifo #(.WIDTH(DATA_FIFO_WIDTH), .DEPTH(FIFO_DEPTH)) data_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({r0_user_reg, r0_first_reg, r0_last_reg, r0_keep_reg, push_data}),
    .s_valid(push), .s_ready(data_in_ready),
    .m_data({d_user, d_first, d_last, d_keep, d_data}),
    .m_valid(d_valid), .m_ready(d_pop),
    .count()
);

wire                  desc_proc, desc_dec, desc_nsh, desc_valid;
wire [16:0]           desc_pe_in;
wire [10:0]           desc_nblk;
wire [11:0]           desc_nhalves;
wire [USER_WIDTH-1:0] desc_user;
wire [127:0]          desc_hdr;
wire                  desc_pop;

wp_chacha20_fifo #(.WIDTH(DESC_WIDTH), .DEPTH(FIFO_DEPTH)) desc_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({proc, dec, nsh_ok, pe_in, nblk, nhalves, user_mod, hdr_out}),
    .s_valid(push_first), .s_ready(desc_in_ready),
    .m_data({desc_proc, desc_dec, desc_nsh, desc_pe_in, desc_nblk, desc_nhalves, desc_user,
        desc_hdr}),
    .m_valid(desc_valid), .m_ready(desc_pop),
    .count()
);

wire [255:0] req_key;
wire [95:0]  req_nonce;
wire [10:0]  req_nblk;
wire         req_valid;
wire         req_pop;

wp_chacha20_fifo #(.WIDTH(REQ_WIDTH), .DEPTH(16)) req_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({key_reg, nonce, nblk}),
    .s_valid(push_first && proc && nblk != 0), .s_ready(req_in_ready),
    .m_data({req_key, req_nonce, req_nblk}),
    .m_valid(req_valid), .m_ready(req_pop),
    .count()
);

// ------------------------------------------------------------------------------------------
// Keystream generation
// ------------------------------------------------------------------------------------------

reg         ks_busy_reg = 1'b0;
reg [255:0] ks_key_reg = 0;
reg [95:0]  ks_nonce_reg = 0;
reg [31:0]  ks_ctr_reg = 0;
reg [10:0]  ks_left_reg = 0;
reg [$clog2(KS_DEPTH):0] ks_inflight_reg = 0;

wire         core_out_valid;
wire [511:0] core_out_block;
wire [$clog2(KS_DEPTH)+1:0] ks_count;
wire [511:0] ks_block;
wire         ks_valid;
wire         ks_pop;

wire ks_issue = ks_busy_reg && (ks_count + ks_inflight_reg < KS_DEPTH);

assign req_pop = !ks_busy_reg && req_valid;

always @(posedge clk) begin
    if (req_pop) begin
        ks_busy_reg <= 1'b1;
        ks_key_reg <= req_key;
        ks_nonce_reg <= req_nonce;
        ks_ctr_reg <= 32'd1;
        ks_left_reg <= req_nblk;
    end
    if (ks_issue) begin
        ks_ctr_reg <= ks_ctr_reg + 1;
        ks_left_reg <= ks_left_reg - 1;
        if (ks_left_reg == 11'd1) ks_busy_reg <= 1'b0;
    end
    ks_inflight_reg <= ks_inflight_reg + (ks_issue ? 1 : 0) - (core_out_valid ? 1 : 0);
    if (rst) begin
        ks_busy_reg <= 1'b0;
        ks_inflight_reg <= 0;
    end
end

wp_chacha20_core #(.TAG_WIDTH(1)) core_inst (
    .clk(clk), .rst(rst),
    .in_valid(ks_issue), .in_key(ks_key_reg), .in_counter(ks_ctr_reg),
    .in_nonce(ks_nonce_reg), .in_tag(1'b0),
    .out_valid(core_out_valid), .out_block(core_out_block), .out_tag()
);

wp_chacha20_fifo #(.WIDTH(512), .DEPTH(KS_DEPTH)) ks_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data(core_out_block), .s_valid(core_out_valid), .s_ready(),
    .m_data(ks_block), .m_valid(ks_valid), .m_ready(ks_pop),
    .count(ks_count)
);

// ------------------------------------------------------------------------------------------
// Egress: XOR with the aligned keystream, insert / remove the header
// ------------------------------------------------------------------------------------------

localparam [1:0] ST_BEATS = 2'd0, ST_DRAIN = 2'd2;

reg [1:0]   e_state_reg = ST_BEATS;
reg [1:0]   e_beat_reg = 2'd0;      // 0, 1, 2 = "2 or later"
reg [16:0]  e_pos_reg = 0;          // byte offset of the current input beat
reg [11:0]  e_half_reg = 0;         // keystream half-block index of the current beat
reg [10:0]  e_blk_reg = 0;          // keystream blocks popped for this frame
reg [255:0] e_prev_half_reg = 0;
reg [127:0] hold_data_reg = 0;
reg [15:0]  hold_keep_reg = 0;

// two-entry output queue: m_* is the head (drives m_axis), sk_* the beat behind it. The egress
// may push two beats in one cycle (a frame's last beat plus the tail that spills into an extra
// output beat), so the spill beat never costs an input cycle: it leaves while the next frame's
// beat 1 (which a decrypted frame does not emit) is consumed.
reg [DATA_WIDTH-1:0] m_data_reg = 0;
reg [KEEP_WIDTH-1:0] m_keep_reg = 0;
reg                  m_valid_reg = 1'b0;
reg                  m_last_reg = 1'b0;
reg [USER_WIDTH-1:0] m_user_reg = 0;
reg [DATA_WIDTH-1:0] sk_data_reg = 0;
reg [KEEP_WIDTH-1:0] sk_keep_reg = 0;
reg                  sk_valid_reg = 1'b0;
reg                  sk_last_reg = 1'b0;
reg [USER_WIDTH-1:0] sk_user_reg = 0;

assign m_axis_tdata = m_data_reg;
assign m_axis_tkeep = m_keep_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast = m_last_reg;
assign m_axis_tuser = m_user_reg;

wire m_pop = m_valid_reg && m_axis_tready;
// free queue entries once this cycle's head has left
wire [1:0] q_room = 2'd2 - {1'b0, m_valid_reg} - {1'b0, sk_valid_reg} + {1'b0, m_pop};

// keystream for the current beat
wire need_half = e_half_reg < desc_nhalves;
wire [255:0] cur_half = need_half ? (e_half_reg[0] ? ks_block[511:256] : ks_block[255:0]) : 256'd0;
wire [511:0] ks_win = {cur_half, e_prev_half_reg};
// ks byte for data byte i = ks_win byte (32 - r + i), r = offset of the first encrypted byte
// inside input beat 1: 2 / 10 (encrypt plain / NSH), 18 / 26 (decrypt plain / NSH)
wire [1:0] ks_sel = {desc_dec, desc_nsh};
wire [255:0] ks_beat = ks_sel == 2'd0 ? ks_win[(2*KEEP_WIDTH - ENC_PLAIN)*8 +: 256]
    : ks_sel == 2'd1 ? ks_win[(2*KEEP_WIDTH - ENC_NSH)*8 +: 256]
    : ks_sel == 2'd2 ? ks_win[(2*KEEP_WIDTH - DEC_PLAIN)*8 +: 256]
    : ks_win[(2*KEEP_WIDTH - DEC_NSH)*8 +: 256];
wire [16:0] ks_base = ks_sel == 2'd0 ? ENC_PLAIN : ks_sel == 2'd1 ? ENC_NSH
    : ks_sel == 2'd2 ? DEC_PLAIN : DEC_NSH;

wire [255:0] xmask;
genvar gx;
generate
    for (gx = 0; gx < 32; gx = gx + 1) begin : g_xmask
        assign xmask[8*gx +: 8] = (e_pos_reg + gx >= ks_base && e_pos_reg + gx < desc_pe_in
            && d_keep[gx]) ? 8'hff : 8'h00;
    end
endgenerate
wire [255:0] x = d_data ^ (ks_beat & xmask);

// realignment: {out_data, out_keep, out_emit, out_last, go_extra, hold_data_next,
// hold_keep_next} for the popped beat
function [256+32+3+128+16-1:0] realign(input [1:0] beat, input is_dec, input is_nsh,
    input [255:0] xd, input [31:0] keep, input last, input [127:0] hdr, input [127:0] hold_d,
    input [15:0] hold_k);
    reg [255:0] o_data;
    reg [31:0]  o_keep;
    reg         o_emit, o_last, extra;
    reg [127:0] h_data;
    reg [15:0]  h_keep;
    begin
        h_data = xd[255:128];
        h_keep = keep[31:16];
        extra = 1'b0;
        if (beat == 2'd1 && !is_dec) begin
            // encrypt, beat 1: bytes [0, r) unchanged, then the header, then bytes [r, 16)
            o_emit = 1'b1;
            if (is_nsh) begin
                o_data = {xd[R_NSH*8 +: (KEEP_WIDTH-HDR_LEN-R_NSH)*8], hdr, xd[0 +: R_NSH*8]};
                o_keep = {keep[R_NSH +: KEEP_WIDTH-HDR_LEN-R_NSH], {HDR_LEN{1'b1}},
                    keep[0 +: R_NSH]};
            end else begin
                o_data = {xd[R_PLAIN*8 +: (KEEP_WIDTH-HDR_LEN-R_PLAIN)*8], hdr,
                    xd[0 +: R_PLAIN*8]};
                o_keep = {keep[R_PLAIN +: KEEP_WIDTH-HDR_LEN-R_PLAIN], {HDR_LEN{1'b1}},
                    keep[0 +: R_PLAIN]};
            end
            extra = last && keep[16];
            o_last = last && !keep[16];
        end else if (beat == 2'd1) begin
            // decrypt, beat 1: keep bytes [0, r), drop the 16 header bytes [r, r + 16)
            if (is_nsh) begin
                h_data = {xd[(R_NSH+HDR_LEN)*8 +: (KEEP_WIDTH-HDR_LEN-R_NSH)*8],
                    xd[0 +: R_NSH*8]};
                h_keep = {keep[R_NSH+HDR_LEN +: KEEP_WIDTH-HDR_LEN-R_NSH], keep[0 +: R_NSH]};
            end else begin
                h_data = {xd[(R_PLAIN+HDR_LEN)*8 +: (KEEP_WIDTH-HDR_LEN-R_PLAIN)*8],
                    xd[0 +: R_PLAIN*8]};
                h_keep = {keep[R_PLAIN+HDR_LEN +: KEEP_WIDTH-HDR_LEN-R_PLAIN],
                    keep[0 +: R_PLAIN]};
            end
            o_emit = last;
            o_data = {128'd0, h_data};
            o_keep = {16'd0, h_keep};
            o_last = 1'b1;
        end else begin
            // beat 2 and later: half of the previous beat, half of this one
            o_emit = 1'b1;
            o_data = {xd[127:0], hold_d};
            o_keep = {keep[15:0], hold_k};
            extra = last && keep[16];
            o_last = last && !keep[16];
        end
        realign = {o_data, o_keep, o_emit, o_last, extra, h_data, h_keep};
    end
endfunction

wire [255:0] out_data;
wire [31:0]  out_keep;
wire         out_emit, out_last, go_extra;
wire [127:0] hold_data_next;
wire [15:0]  hold_keep_next;
assign {out_data, out_keep, out_emit, out_last, go_extra, hold_data_next, hold_keep_next} =
    realign(e_beat_reg, desc_dec, desc_nsh, x, d_keep, d_last, desc_hdr, hold_data_reg,
        hold_keep_reg);

wire pop_ks_now = need_half && (e_half_reg[0] || e_half_reg == desc_nhalves - 1);
wire [10:0] blk_after = e_blk_reg + (pop_ks_now ? 11'd1 : 11'd0);
// output beats pushed when a processed frame's beat 1 or later is popped
wire [1:0] proc_need = {1'b0, out_emit} + {1'b0, go_extra};

// egress control: a pass-through beat (unprocessed frame, or beat 0) needs one queue entry;
// a processed beat 1 or later needs its keystream half and proc_need entries
wire e_beats = e_state_reg == ST_BEATS && d_valid && desc_valid;
wire e_pass = !desc_proc || e_beat_reg == 2'd0;
wire e_pop_pass = e_beats && e_pass && q_room != 2'd0;
wire e_pop_proc = e_beats && !e_pass && (!need_half || ks_valid) && q_room >= proc_need;
wire e_drain = e_state_reg == ST_DRAIN;

assign d_pop = e_pop_pass || e_pop_proc;
assign desc_pop = (e_pop_pass && !desc_proc && d_last)
    || (e_pop_proc && d_last && blk_after == desc_nblk)
    || (e_drain && e_blk_reg == desc_nblk);
assign ks_pop = (e_pop_proc && pop_ks_now) || (e_drain && e_blk_reg != desc_nblk && ks_valid);

// beats pushed into the output queue this cycle (q2 only with q1)
wire                  q1_push = e_pop_pass || (e_pop_proc && out_emit);
wire                  q2_push = e_pop_proc && go_extra;
wire [DATA_WIDTH-1:0] q1_data = e_pass ? d_data : out_data;
wire [KEEP_WIDTH-1:0] q1_keep = e_pass ? d_keep : out_keep;
wire                  q1_last = e_pass ? d_last : out_last;
wire [USER_WIDTH-1:0] q1_user = desc_proc ? desc_user : d_user;

// the spill beat: the upper half of the frame's last beat, alone
wire [DATA_WIDTH-1:0] q2_data = {128'd0, hold_data_next};
wire [KEEP_WIDTH-1:0] q2_keep = {16'd0, hold_keep_next};

always @(posedge clk) begin
    // output queue
    if (m_pop || !m_valid_reg) begin
        if (sk_valid_reg) begin
            m_data_reg <= sk_data_reg;
            m_keep_reg <= sk_keep_reg;
            m_last_reg <= sk_last_reg;
            m_user_reg <= sk_user_reg;
            m_valid_reg <= 1'b1;
            sk_valid_reg <= q1_push;
            sk_data_reg <= q1_data;
            sk_keep_reg <= q1_keep;
            sk_last_reg <= q1_last;
            sk_user_reg <= q1_user;
        end else begin
            m_data_reg <= q1_data;
            m_keep_reg <= q1_keep;
            m_last_reg <= q1_last;
            m_user_reg <= q1_user;
            m_valid_reg <= q1_push;
            sk_valid_reg <= q2_push;
            sk_data_reg <= q2_data;
            sk_keep_reg <= q2_keep;
            sk_last_reg <= 1'b1;
            sk_user_reg <= desc_user;
        end
    end else if (!sk_valid_reg && q1_push) begin
        sk_valid_reg <= 1'b1;
        sk_data_reg <= q1_data;
        sk_keep_reg <= q1_keep;
        sk_last_reg <= q1_last;
        sk_user_reg <= q1_user;
    end

    // egress state
    case (e_state_reg)
        ST_BEATS: begin
            if (d_pop) begin
                if (!desc_proc || e_beat_reg == 2'd0) begin
                    e_beat_reg <= d_last ? 2'd0 : 2'd1;
                    e_pos_reg <= d_last ? 17'd0 : 17'd32;
                    e_half_reg <= 0;
                    e_blk_reg <= 0;
                end else begin
                    hold_data_reg <= hold_data_next;
                    hold_keep_reg <= hold_keep_next;
                    e_prev_half_reg <= cur_half;
                    if (need_half) e_half_reg <= e_half_reg + 1;
                    e_blk_reg <= blk_after;
                    e_pos_reg <= e_pos_reg + 17'd32;
                    e_beat_reg <= 2'd2;
                    if (d_last) begin
                        e_beat_reg <= 2'd0;
                        e_pos_reg <= 0;
                        if (blk_after != desc_nblk) begin
                            e_state_reg <= ST_DRAIN;
                        end else begin
                            e_half_reg <= 0;
                            e_blk_reg <= 0;
                        end
                    end
                end
            end
        end
        ST_DRAIN: begin
            if (desc_pop) begin
                e_state_reg <= ST_BEATS;
                e_half_reg <= 0;
                e_blk_reg <= 0;
            end else if (ks_pop) begin
                e_blk_reg <= e_blk_reg + 1;
            end
        end
        default: e_state_reg <= ST_BEATS;
    endcase

    if (rst) begin
        e_state_reg <= ST_BEATS;
        e_beat_reg <= 2'd0;
        e_pos_reg <= 0;
        e_half_reg <= 0;
        e_blk_reg <= 0;
        m_valid_reg <= 1'b0;
        sk_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
