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
 * Structure (pipelined for 200 MHz on a 7-series part, issue #15):
 *   ingress  — a one-beat delay register (H); a frame's beat 0 leaves it with beat 1, and three
 *              stages follow: A registers the beats, B classifies beats 0 and 1 for both IPv4
 *              offsets and forms the checksum sum, C picks the offset, folds the checksum,
 *              rewrites the IPv4 length and protocol and NSH SI and queues the descriptor and,
 *              for processed frames, a keystream request {key, nonce, blocks}; D writes the
 *              folded checksum into the beat that holds it and queues the beat. s_axis_tready
 *              is a registered "the FIFOs have room for IN_MARGIN more entries".
 *   keystream — wp_chacha20_core (one 32-bit add per stage, four stages per round, ten rounds
 *              of stages passed twice: one 64-byte block per two cycles, 83 cycles latency)
 *              fills a block FIFO; credits (KS_DEPTH minus blocks in the core, in the FIFO
 *              or just popped) keep the never-stalling core from overflowing it.
 *   egress   — E1 pops data beats (from registered FIFO heads, by flags kept in registers)
 *              and XORs the aligned keystream; E2 inserts (encrypt) or removes (decrypt) the
 *              16-byte header by a constant half-beat realignment. Output beats go through a
 *              four-entry queue: a frame's last input beat may push two output beats (the tail
 *              spills over when it holds 17..31 bytes), so the egress never spends a cycle on
 *              the spill beat and decrypt keeps one input beat per cycle for every frame
 *              length.
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
    // data FIFO depth in beats (power of two; for line rate it must exceed the keystream
    // latency, about 90 cycles from a request to its first block, plus IN_MARGIN)
    parameter FIFO_DEPTH = 128,
    // keystream FIFO depth in 64-byte blocks (power of two; for line rate the credits must
    // cover the blocks of about 90 cycles, issue to credit back, at one per two cycles: 45)
    parameter KS_DEPTH = 64
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
// descriptor: proc, dec, nsh, rem[16:0], rem32, nblk[10:0], nblk == 0, nblk == 1,
// nhalves[11:0], nhalves != 0, nhalves == 1, tuser, header (rem: bytes of the IPv4 packet
// from beat 1 on, rem32: rem >= 32)
localparam DESC_WIDTH = 3 + 18 + 13 + 14 + USER_WIDTH + 128;
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

// events from the ingress (below), registered: the counters and SEQ count a frame one cycle
// after its beat 0 leaves stage C (their enables come from flip-flops, not from stage C's
// classification). An event is dropped where it would have met, in its own cycle, a CLEAR
// (the counters) or a write of SEQ's HI word, as before the register. SEQ is read by the next
// frame's beat 0 in C, at least two cycles later (a frame this PE encrypts has two beats or
// more), so the frame after one that SEQ numbered sees the incremented value.
wire ev_done, ev_bypass, ev_reject, ev_seq_inc;
wire seq_wr = reg_wr_en && reg_wr_addr == `WP_CHACHA20_REG_SEQ + 4;
reg ev_done_reg = 1'b0, ev_bypass_reg = 1'b0, ev_reject_reg = 1'b0, ev_seq_inc_reg = 1'b0;

integer kw;

always @(posedge clk) begin
    ev_done_reg <= ev_done && !clear_cmd;
    ev_bypass_reg <= ev_bypass && !clear_cmd;
    ev_reject_reg <= ev_reject && !clear_cmd;
    ev_seq_inc_reg <= ev_seq_inc && !seq_wr;
    if (ev_seq_inc_reg) seq_reg <= seq_reg + 1;
    if (ev_done_reg) done_pkts_reg <= done_pkts_reg + 1;
    if (ev_bypass_reg) bypass_pkts_reg <= bypass_pkts_reg + 1;
    if (ev_reject_reg) reject_pkts_reg <= reject_pkts_reg + 1;
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
        ev_done_reg <= 1'b0;
        ev_bypass_reg <= 1'b0;
        ev_reject_reg <= 1'b0;
        ev_seq_inc_reg <= 1'b0;
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
// Ingress. H: a one-beat delay; a beat leaves it when the next one arrives (or it is a
// frame's last), a frame's beat 0 together with beat 1 (the incoming beat). A: the beat (and,
// with beat 0, beat 1) in registers. B: beats 0 and 1 classified for both IPv4 offsets (plain
// and NSH), the checksum sum formed. C: one offset picked, the checksum folded into a register,
// the length, protocol and SI rewritten (beat 0 with this cycle's values, beat 1 with those
// kept from its beat 0) and, with beat 0, the descriptor and the keystream request pushed.
// D: the checksum written (plain IPv4: into beat 0; NSH: into beat 1), the beat pushed into the
// data FIFO. H..D never stall: s_axis_tready is "every FIFO has room for IN_MARGIN more
// entries" (one more for the data FIFO, filled a stage later), from a register (the beats in
// H..D and those accepted before the flag falls fit in the margin), formed from registered
// counts (see in_room_reg below).
// ------------------------------------------------------------------------------------------

localparam IN_MARGIN = 8;

reg [DATA_WIDTH-1:0] r0_data_reg = 0;
reg [KEEP_WIDTH-1:0] r0_keep_reg = 0;
reg                  r0_last_reg = 1'b0;
reg [USER_WIDTH-1:0] r0_user_reg = 0;
reg                  r0_first_reg = 1'b0;
reg                  r0_second_reg = 1'b0;
reg                  r0_valid_reg = 1'b0;
reg                  in_first_reg = 1'b1;   // next accepted beat starts a frame
reg                  in_second_reg = 1'b0;  // next accepted beat is a frame's beat 1
reg                  in_room_reg = 1'b0;

assign s_axis_tready = in_room_reg;
wire s_fire = s_axis_tvalid && s_axis_tready;
// the beat in H moves on to A
wire h_rel = r0_valid_reg && (s_fire || r0_last_reg);

always @(posedge clk) begin
    if (s_fire) begin
        r0_data_reg <= s_axis_tdata;
        r0_keep_reg <= s_axis_tkeep;
        r0_last_reg <= s_axis_tlast;
        r0_user_reg <= s_axis_tuser;
        r0_first_reg <= in_first_reg;
        r0_second_reg <= in_second_reg;
        r0_valid_reg <= 1'b1;
        in_first_reg <= s_axis_tlast;
        in_second_reg <= in_first_reg && !s_axis_tlast;
    end else if (h_rel) begin
        r0_valid_reg <= 1'b0;
    end
    if (rst) begin
        r0_valid_reg <= 1'b0;
        in_first_reg <= 1'b1;
        in_second_reg <= 1'b0;
    end
end

// stage A
reg                  a_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] a_data_reg = 0;
reg [KEEP_WIDTH-1:0] a_keep_reg = 0;
reg                  a_last_reg = 1'b0;
reg [USER_WIDTH-1:0] a_user_reg = 0;
reg                  a_first_reg = 1'b0;
reg                  a_second_reg = 1'b0;
// with beat 0: beat 1 (the incoming beat), its tkeep and tlast, and whether there is one
reg [DATA_WIDTH-1:0] a_b1_data_reg = 0;
reg [KEEP_WIDTH-1:0] a_b1_keep_reg = 0;
reg                  a_b1_last_reg = 1'b0;
reg                  a_have_b1_reg = 1'b0;
// the configuration a frame is classified with (taken with its beat 0)
reg                  a_enable_reg = 1'b0;
reg                  a_dec_reg = 1'b0;
reg                  a_dec_si_reg = 1'b0;

always @(posedge clk) begin
    a_valid_reg <= h_rel;
    a_data_reg <= r0_data_reg;
    a_keep_reg <= r0_keep_reg;
    a_last_reg <= r0_last_reg;
    a_user_reg <= r0_user_reg;
    a_first_reg <= r0_first_reg;
    a_second_reg <= r0_second_reg;
    a_b1_data_reg <= s_axis_tdata;
    a_b1_keep_reg <= s_axis_tkeep;
    a_b1_last_reg <= s_axis_tlast;
    a_have_b1_reg <= !r0_last_reg;
    a_enable_reg <= cfg_enable_reg;
    a_dec_reg <= cfg_decrypt_reg;
    a_dec_si_reg <= cfg_dec_si_reg;
    if (rst) a_valid_reg <= 1'b0;
end

// stage B: bytes 0..63 of the frame (meaningful with beat 0)
wire [511:0] cat = {a_b1_data_reg, a_data_reg};

// Ethernet + NSH by the rules every block shares (wp_nsh_dec); "holds the header" from beat 0's
// tkeep (a frame's beats are full but for the last)
wire       eth_ipv4, nsh_valid, nsh_ip;
wire [5:0] nsh_len;
wire [3:0] nsh_md;
wire [7:0] nsh_si;

wp_nsh_dec nsh_dec_inst (
    .hdr(cat[`WP_NSH_END*8-1:0]),
    .has_eth(a_keep_reg[`WP_ETH_HDR_LEN-1]), .has_nsh(a_keep_reg[`WP_NSH_END-1]),
    .eth_type(), .eth_ipv4(eth_ipv4), .nsh(), .nsh_valid(nsh_valid), .nsh_ip(nsh_ip),
    .hdr_ok(), .ip_ok(), .ip_next(), .hdr_ip_ok(),
    .ip_cand(), .nsh_len(nsh_len), .nsh_md(nsh_md), .nsh_next(), .spi(), .si(nsh_si), .key(),
    .l3_q()
);

// the NSH this PE encrypts: MD type 2, length 2, IPv4 inside (IPv4 at IP_NSH)
wire nsh_ok = nsh_ip && nsh_len == `WP_NSH_MIN_LEN && nsh_md == `WP_NSH_MD2;
// the SI rule of every PE: a valid NSH header (version 0, length >= 2, MD type 1 or 2)
wire si_dec = nsh_valid && a_dec_si_reg && nsh_si != 8'd0;

// per IPv4 offset o (0: plain, 1: NSH), registered for stage C:
//   {enc_ok, dec_cand, key_ok, blk_nz, blk_one, half_one, new_len[15:0], nblk[10:0],
//    nhalves[11:0], rem[16:0], rem32, proto[7:0], new_proto[7:0], csum_sum[19:0],
//    hdr_in[95:0]}
// with plen = total_len - 20 (encrypt) or - 36 (decrypt): nblk = (plen + 63) / 64 keystream
// blocks, nhalves = (plen + 31) / 32 halves (both 0 when plen is), rem = pe_in - 32 (0 when
// negative) and rem32 = rem >= 32 for pe_in = IPv4 offset + total_len, the packet's end
// The checksum: RFC 1624 HC' = ~(~HC + ~m + m') over total length and {TTL, protocol}. With
// the new length m +/- 16 (no wrap for the lengths processed) ~len + new_len = 0xFFFF +/- 16,
// and ~{ttl, proto} + {ttl, new_proto} = 0xFF00 + ~proto + new_proto, so the sum is
// ~HC + ~proto + new_proto + (0xFF10 encrypt, 0x1FEEF decrypt): the same value modulo 0xFFFF,
// never 0, hence the same folded checksum.
localparam IPI_WIDTH = 6 + 16 + 11 + 12 + 18 + 8 + 8 + 20 + 96;
reg [IPI_WIDTH-1:0] b_ipi_reg [0:1];

wire [IPI_WIDTH-1:0] ipi [0:1];
genvar go;
generate
    for (go = 0; go < 2; go = go + 1) begin : g_ipi
        localparam IP_OFF = go ? IP_NSH : IP_PLAIN;
        localparam ENC_OFF = go ? ENC_NSH : ENC_PLAIN;
        localparam DEC_OFF = go ? DEC_NSH : DEC_PLAIN;
        wire        ver_ok;
        wire [3:0]  ihl;
        wire [15:0] total_len;
        wire [7:0]  proto;
        wire [15:0] csum;
        wp_ipv4_dec ipv4_dec_inst (
            .ip(cat[IP_OFF*8 +: 160]), .ver_ok(ver_ok), .ihl(ihl), .ver_ihl(), .tos(),
            .total_len(total_len), .frag_off(), .ttl(), .proto(proto), .csum(csum), .src(),
            .dst()
        );
        wire [127:0] hdr_in = cat[ENC_OFF*8 +: 128];
        // the frame holds the IPv4 header (and for decrypt, the encryption header); IPv4
        // without options only
        wire len_ok = a_have_b1_reg && (!a_b1_last_reg
            || (a_dec_reg ? a_b1_keep_reg[DEC_OFF - 1 - KEEP_WIDTH]
                : a_b1_keep_reg[ENC_OFF - 1 - KEEP_WIDTH]));
        wire cand = ver_ok && ihl == 4'd5 && len_ok;
        wire enc_ok = cand && total_len >= 16'd20 && total_len <= 16'd65519;
        wire dec_cand = cand && proto == IP_PROTO && total_len >= 16'd36;
        wire key_ok = bswap32(hdr_in[31:0]) == key_id_reg
            && hdr_in[13*8 +: 8] == FORMAT_VERSION;
        // at least one keystream block: plen + 63 >= 64
        wire blk_nz = a_dec_reg ? total_len >= 16'd37 : total_len >= 16'd21;
        wire [16:0] nblk_sum = {1'b0, total_len} + (a_dec_reg ? 17'd27 : 17'd43);
        wire [16:0] nhalves_sum = {1'b0, total_len} + (a_dec_reg ? 17'h1FFFB : 17'd11);
        wire [15:0] new_len = a_dec_reg ? total_len - 16'd16 : total_len + 16'd16;
        // plen in 1..64 / 1..32
        wire blk_one = blk_nz && (a_dec_reg ? total_len <= 16'd100 : total_len <= 16'd84);
        wire half_one = blk_nz && (a_dec_reg ? total_len <= 16'd68 : total_len <= 16'd52);
        wire [16:0] pe_in = IP_OFF + {1'b0, total_len};
        wire [16:0] rem = pe_in > 17'd32 ? pe_in - 17'd32 : 17'd0;
        wire rem32 = pe_in >= 17'd64;
        wire [7:0] new_proto = a_dec_reg ? hdr_in[12*8 +: 8] : IP_PROTO;
        wire [8:0] proto_sum = {1'b0, ~proto} + {1'b0, new_proto};
        wire [19:0] csum_sum = {4'd0, ~csum} + {11'd0, proto_sum}
            + (a_dec_reg ? 20'h1FEEF : 20'h0FF10);
        assign ipi[go] = {enc_ok, dec_cand, key_ok, blk_nz, blk_one, half_one, new_len,
            nblk_sum[16:6], nhalves_sum[16:5], rem, rem32, proto, new_proto, csum_sum,
            hdr_in[95:0]};
    end
endgenerate

reg                  b_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] b_data_reg = 0;
reg [KEEP_WIDTH-1:0] b_keep_reg = 0;
reg                  b_last_reg = 1'b0;
reg [USER_WIDTH-1:0] b_user_reg = 0;
reg                  b_first_reg = 1'b0;
// a frame's beat 0 is in B (b_valid_reg && b_first_reg, from a flip-flop: it enables the
// descriptor and request FIFOs' writes and the event counters)
reg                  b_push_first_reg = 1'b0;
reg                  b_second_reg = 1'b0;
reg                  b_dec_reg = 1'b0;
reg                  b_ipv4_reg = 1'b0;  // enabled, and plain IPv4 or the NSH this PE takes
reg                  b_nsh_reg = 1'b0;
reg                  b_si_dec_reg = 1'b0;
reg [15:0]           b_pkt_len_mod_reg = 0;

// tuser pkt_len follows the frame: HDR_LEN bytes longer (encrypt) or shorter (decrypt)
wire [15:0] pkt_len = a_user_reg[`WP_TUSER_PKT_LEN_LSB +: `WP_TUSER_PKT_LEN_WIDTH];

always @(posedge clk) begin
    b_valid_reg <= a_valid_reg;
    b_data_reg <= a_data_reg;
    b_keep_reg <= a_keep_reg;
    b_last_reg <= a_last_reg;
    b_user_reg <= a_user_reg;
    b_first_reg <= a_first_reg;
    b_push_first_reg <= a_valid_reg && a_first_reg;
    b_second_reg <= a_second_reg;
    b_dec_reg <= a_dec_reg;
    b_ipv4_reg <= a_enable_reg && (eth_ipv4 || nsh_ok);
    b_nsh_reg <= nsh_ok;
    b_si_dec_reg <= si_dec;
    b_pkt_len_mod_reg <= a_dec_reg ? pkt_len - HDR_LEN : pkt_len + HDR_LEN;
    b_ipi_reg[0] <= ipi[0];
    b_ipi_reg[1] <= ipi[1];
    if (rst) begin
        b_valid_reg <= 1'b0;
        b_push_first_reg <= 1'b0;
    end
end

// stage C
wire        c_enc_ok, c_dec_cand, c_key_ok, c_blk_nz, c_blk_one, c_half_one, rem32;
wire [15:0] new_len;
wire [10:0] c_nblk;
wire [11:0] c_nhalves;
wire [16:0] rem;
wire [7:0]  proto, new_proto;
wire [19:0] csum_sum;
wire [95:0] hdr_in;
assign {c_enc_ok, c_dec_cand, c_key_ok, c_blk_nz, c_blk_one, c_half_one, new_len, c_nblk,
    c_nhalves, rem, rem32, proto, new_proto, csum_sum, hdr_in} = b_ipi_reg[b_nsh_reg];

wire dec = b_dec_reg;
wire enc_proc = !dec && b_ipv4_reg && c_enc_ok;
wire dec_cand = dec && b_ipv4_reg && c_dec_cand;
wire proc = enc_proc || (dec_cand && c_key_ok);
wire push_first = b_push_first_reg;

assign ev_done = push_first && proc;
assign ev_reject = push_first && dec_cand && !c_key_ok;
assign ev_bypass = push_first && !proc && !(dec_cand && !c_key_ok);
assign ev_seq_inc = push_first && enc_proc;

// ones' complement addition (oc_add): proved equal to the RFC 1071 fold (test_oc_add_equiv)
`include "wp_oc_add.vh"

// encryption header (bytes in stream order) and the resulting nonce
wire [127:0] hdr_out = {16'd0, FORMAT_VERSION, proto, bswap32(seq_reg[31:0]),
    bswap32(seq_reg[63:32]), bswap32(key_id_reg)};
wire [95:0] nonce = dec ? hdr_in : hdr_out[95:0];

// the fold of the 20-bit sum: its low 16 bits +' its carries, a ones' complement add
// (wp_oc_add.vh: two adds side by side, picked by the first's carry)
wire [15:0] new_csum = ~oc_add(csum_sum[15:0], {12'd0, csum_sum[19:16]});

wire [10:0] nblk = proc ? c_nblk : 11'd0;
wire [11:0] nhalves = proc ? c_nhalves : 12'd0;
wire blk_nz = proc && c_blk_nz;

// rewritten beats 0 and 1. Combinational logic in this module is built from continuous
// assignments (functions behind assign, not always @*): Icarus (-g2012) never runs an always @*
// block whose inputs keep their initial values, which would leave it X from time 0.
function [511:0] rewrite(input [511:0] c, input si_dec, input do_proc, input is_nsh,
    input [15:0] len, input [7:0] pr);
    begin
        rewrite = c;
        if (si_dec) rewrite[`WP_NSH_SI_OFF*8 +: 8] = c[`WP_NSH_SI_OFF*8 +: 8] - 8'd1;
        if (do_proc) begin
            if (is_nsh) begin
                rewrite[(IP_NSH + `WP_IPV4_TOTAL_LEN_OFF)*8 +: 16] = {len[7:0], len[15:8]};
                rewrite[(IP_NSH + `WP_IPV4_PROTO_OFF)*8 +: 8] = pr;
            end else begin
                rewrite[(IP_PLAIN + `WP_IPV4_TOTAL_LEN_OFF)*8 +: 16] = {len[7:0], len[15:8]};
                rewrite[(IP_PLAIN + `WP_IPV4_PROTO_OFF)*8 +: 8] = pr;
            end
        end
    end
endfunction

// the frame's rewrite, kept from its beat 0 for beat 1 and, the checksum, for stage D (which
// writes it into beat 0, or with NSH beat 1, while the next frame's beat 0 is at most in C)
reg        f_proc_reg = 1'b0;
reg        f_nsh_reg = 1'b0;
reg [15:0] f_len_reg = 0;
reg [7:0]  f_proto_reg = 0;
reg [15:0] f_csum_reg = 0;

always @(posedge clk) begin
    if (push_first) begin
        f_proc_reg <= proc;
        f_nsh_reg <= b_nsh_reg;
        f_len_reg <= new_len;
        f_proto_reg <= new_proto;
        f_csum_reg <= new_csum;
    end
end

wire [511:0] rw0 = rewrite({256'd0, b_data_reg}, b_si_dec_reg, proc, b_nsh_reg, new_len,
    new_proto);
wire [511:0] rw1 = rewrite({b_data_reg, 256'd0}, 1'b0, f_proc_reg, f_nsh_reg, f_len_reg,
    f_proto_reg);
wire [DATA_WIDTH-1:0] c_data = b_first_reg ? rw0[255:0]
    : b_second_reg ? rw1[511:256] : b_data_reg;

// stage D
localparam CSUM_PLAIN = IP_PLAIN + `WP_IPV4_CSUM_OFF;              // in beat 0
localparam CSUM_NSH = IP_NSH + `WP_IPV4_CSUM_OFF - KEEP_WIDTH;     // in beat 1

reg                  d_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] d_data_reg = 0;
reg [KEEP_WIDTH-1:0] d_keep_reg = 0;
reg                  d_last_reg = 1'b0;
reg [USER_WIDTH-1:0] d_user_reg = 0;
reg                  d_first_reg = 1'b0;
reg                  d_csum_plain_reg = 1'b0;  // write the checksum at CSUM_PLAIN
reg                  d_csum_nsh_reg = 1'b0;    // write the checksum at CSUM_NSH

always @(posedge clk) begin
    d_valid_reg <= b_valid_reg;
    d_data_reg <= c_data;
    d_keep_reg <= b_keep_reg;
    d_last_reg <= b_last_reg;
    d_user_reg <= b_user_reg;
    d_first_reg <= b_first_reg;
    d_csum_plain_reg <= b_first_reg && proc && !b_nsh_reg;
    d_csum_nsh_reg <= b_second_reg && f_proc_reg && f_nsh_reg;
    if (rst) d_valid_reg <= 1'b0;
end

function [DATA_WIDTH-1:0] put_csum(input [DATA_WIDTH-1:0] c, input plain, input nsh,
    input [15:0] cs);
    begin
        put_csum = c;
        if (plain) put_csum[CSUM_PLAIN*8 +: 16] = {cs[7:0], cs[15:8]};
        if (nsh) put_csum[CSUM_NSH*8 +: 16] = {cs[7:0], cs[15:8]};
    end
endfunction
wire [DATA_WIDTH-1:0] push_data = put_csum(d_data_reg, d_csum_plain_reg, d_csum_nsh_reg,
    f_csum_reg);

function [USER_WIDTH-1:0] set_pkt_len(input [USER_WIDTH-1:0] u, input [15:0] len);
    begin
        set_pkt_len = u;
        set_pkt_len[`WP_TUSER_PKT_LEN_LSB +: `WP_TUSER_PKT_LEN_WIDTH] = len;
    end
endfunction
wire [USER_WIDTH-1:0] user_mod = proc ? set_pkt_len(b_user_reg, b_pkt_len_mod_reg) : b_user_reg;

// ------------------------------------------------------------------------------------------
// FIFOs
// ------------------------------------------------------------------------------------------

localparam REQ_DEPTH = 16;

wire [DATA_WIDTH-1:0] d_data;
wire [KEEP_WIDTH-1:0] d_keep;
wire                  d_last, d_first, d_valid;
wire [USER_WIDTH-1:0] d_user;
wire                  d_pop;
wire [$clog2(FIFO_DEPTH)+1:0] data_count, desc_count;
wire [$clog2(REQ_DEPTH)+1:0]  req_count;

wp_chacha20_fifo #(.WIDTH(DATA_FIFO_WIDTH), .DEPTH(FIFO_DEPTH), .OUT_REG(1),
    .NO_OVERFLOW(1), .HEAD_SLICES(4)) data_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({d_user_reg, d_first_reg, d_last_reg, d_keep_reg, push_data}),
    .s_valid(d_valid_reg), .s_ready(),
    .m_data({d_user, d_first, d_last, d_keep, d_data}),
    .m_valid(d_valid), .m_ready(d_pop),
    .count(data_count)
);

wire                  desc_proc, desc_dec, desc_nsh, desc_valid;
wire [16:0]           desc_rem;
wire                  desc_rem32;
wire [10:0]           desc_nblk;
wire                  desc_b0, desc_b1;
wire [11:0]           desc_nhalves;
wire                  desc_nh, desc_lh;
wire [USER_WIDTH-1:0] desc_user;
wire [127:0]          desc_hdr;
wire                  desc_pop;

wp_chacha20_fifo #(.WIDTH(DESC_WIDTH), .DEPTH(FIFO_DEPTH), .OUT_REG(1),
    .NO_OVERFLOW(1), .HEAD_SLICES(4)) desc_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({proc, dec, b_nsh_reg, rem, rem32, nblk, !blk_nz, proc && c_blk_one, nhalves,
        blk_nz, proc && c_half_one, user_mod, hdr_out}),
    .s_valid(push_first), .s_ready(),
    .m_data({desc_proc, desc_dec, desc_nsh, desc_rem, desc_rem32, desc_nblk, desc_b0, desc_b1,
        desc_nhalves, desc_nh, desc_lh, desc_user, desc_hdr}),
    .m_valid(desc_valid), .m_ready(desc_pop),
    .count(desc_count)
);

wire [255:0] req_key;
wire [95:0]  req_nonce;
wire [10:0]  req_nblk;
wire         req_valid;
wire         req_pop;

wp_chacha20_fifo #(.WIDTH(REQ_WIDTH), .DEPTH(REQ_DEPTH), .OUT_REG(1),
    .NO_OVERFLOW(1)) req_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({key_reg, nonce, nblk}),
    .s_valid(push_first && blk_nz), .s_ready(),
    .m_data({req_key, req_nonce, req_nblk}),
    .m_valid(req_valid), .m_ready(req_pop),
    .count(req_count)
);

// the counts registered first (the count is a subtract and an add: with the compares and the
// AND in the same cycle, 6 LUT levels and 3 CARRY4 at FIFO_DEPTH 128); each FIFO takes at most
// one entry per cycle, so count <= limit - 1 a cycle ago means count <= limit now, the
// condition the margin is worked out for (the data FIFO's limit one lower: its beats are
// pushed from D, a stage after the descriptor and the request)
reg [$clog2(FIFO_DEPTH)+1:0] data_count_reg = 0, desc_count_reg = 0;
reg [$clog2(REQ_DEPTH)+1:0]  req_count_reg = 0;

always @(posedge clk) begin
    data_count_reg <= data_count;
    desc_count_reg <= desc_count;
    req_count_reg <= req_count;
    in_room_reg <= data_count_reg <= FIFO_DEPTH - IN_MARGIN - 2
        && desc_count_reg <= FIFO_DEPTH - IN_MARGIN - 1
        && req_count_reg <= REQ_DEPTH - IN_MARGIN - 1;
    if (rst) begin
        data_count_reg <= 0;
        desc_count_reg <= 0;
        req_count_reg <= 0;
        in_room_reg <= 1'b0;
    end
end

// ------------------------------------------------------------------------------------------
// Keystream generation: ks_credit_reg = KS_DEPTH - (blocks in the core + blocks in the
// keystream FIFO + blocks popped last cycle), so the never-stalling core cannot overflow it
// ------------------------------------------------------------------------------------------

reg         ks_busy_reg = 1'b0;
reg [255:0] ks_key_reg = 0;
reg [95:0]  ks_nonce_reg = 0;
reg [31:0]  ks_ctr_reg = 0;
reg [10:0]  ks_left_reg = 0;
reg         ks_last_reg = 1'b0;   // ks_left_reg == 1
reg [$clog2(KS_DEPTH):0] ks_credit_reg = KS_DEPTH;
reg         ks_credit_nz_reg = 1'b1;  // ks_credit_reg != 0
reg         ks_pop_d_reg = 1'b0;
reg         ks_slot_reg = 1'b0;   // toggles every cycle: blocks go in on alternate cycles

wire         core_out_valid;
wire [511:0] core_out_block;
wire [511:0] ks_block;
wire         ks_valid;
wire         ks_pop;

// a block into the core: on alternate cycles only, so blocks come back (41 cycles later, odd)
// on the others and the core takes one at every slot, and the keystream comes out evenly, one
// block per two cycles (taking blocks whenever the core is ready sends them in bursts of 41
// followed by 41 cycles of returns: the keystream FIFO then runs dry on long frames)
// The core's in_ready is not on this path: a block taken on a slot cycle comes back from its
// first pass 41 cycles later (odd), on a cycle without a slot, so the core is always ready on
// a slot cycle (the tests against `cryptography` lose no block; its in_ready output is unused)
wire ks_issue = ks_busy_reg && ks_credit_nz_reg && ks_slot_reg;

// the next request is taken when idle or with the current one's last block, so no entry slot
// of the core is lost between frames (its capacity is exactly the line rate's worst case)
assign req_pop = req_valid && (!ks_busy_reg || (ks_issue && ks_last_reg));

always @(posedge clk) begin
    if (ks_issue) begin
        ks_ctr_reg <= ks_ctr_reg + 1;
        ks_left_reg <= ks_left_reg - 1;
        ks_last_reg <= ks_left_reg == 11'd2;
        if (ks_last_reg) ks_busy_reg <= 1'b0;
    end
    if (req_pop) begin
        ks_busy_reg <= 1'b1;
        ks_key_reg <= req_key;
        ks_nonce_reg <= req_nonce;
        ks_ctr_reg <= 32'd1;
        ks_left_reg <= req_nblk;
        ks_last_reg <= req_nblk == 11'd1;
    end
    ks_pop_d_reg <= ks_pop;
    ks_slot_reg <= !ks_slot_reg;
    ks_credit_reg <= ks_credit_reg - (ks_issue ? 1 : 0) + (ks_pop_d_reg ? 1 : 0);
    // != 0 without the adder: a block popped gives one back; else the credit stays above 0
    // when it is at least 2, or 1 and no block goes in (a block goes in only with a credit)
    ks_credit_nz_reg <= ks_pop_d_reg || ks_credit_reg[$clog2(KS_DEPTH):1] != 0
        || (ks_credit_reg[0] && !ks_issue);
    if (rst) begin
        ks_busy_reg <= 1'b0;
        ks_pop_d_reg <= 1'b0;
        ks_credit_reg <= KS_DEPTH;
        ks_credit_nz_reg <= 1'b1;
    end
end

wp_chacha20_core #(.TAG_WIDTH(1)) core_inst (
    .clk(clk), .rst(rst),
    .in_valid(ks_issue), .in_ready(), .in_key(ks_key_reg),
    .in_counter(ks_ctr_reg), .in_nonce(ks_nonce_reg), .in_tag(1'b0),
    .out_valid(core_out_valid), .out_block(core_out_block), .out_tag()
);

wp_chacha20_fifo #(.WIDTH(512), .DEPTH(KS_DEPTH), .OUT_REG(1),
    .NO_OVERFLOW(1), .HEAD_SLICES(4)) ks_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data(core_out_block), .s_valid(core_out_valid), .s_ready(),
    .m_data(ks_block), .m_valid(ks_valid), .m_ready(ks_pop),
    .count()
);

// ------------------------------------------------------------------------------------------
// Egress. E1: pops a data beat (with its keystream half) by flags kept in registers and XORs
// the aligned keystream; a frame's descriptor is popped with its beat 0, into registers. E2:
// inserts (encrypt) or removes (decrypt) the 16-byte header by a constant half-beat
// realignment and pushes one or two beats into the output queue: a frame's last input beat
// may push two (the tail spills over when it holds 17..31 bytes), so the egress never spends a
// cycle on the spill beat and decrypt keeps one input beat per cycle for every frame length.
// E1 pops only when the queue has room for what E2 will push (its Q_DEPTH entries, minus
// those queued and those E2 pushes now).
// ------------------------------------------------------------------------------------------

localparam [1:0] ST_BEATS = 2'd0, ST_DRAIN = 2'd2;
localparam Q_DEPTH = 4;

reg [1:0]   e_state_reg = ST_BEATS;
reg [1:0]   e_beat_reg = 2'd0;      // 0, 1, 2 = "2 or later" (or a later unprocessed beat)
reg         e_pass_reg = 1'b1;      // the next beat passes unchanged (beat 0, or unprocessed)
reg         e_b1dec_reg = 1'b0;     // the next beat is a decrypted frame's beat 1
// the frame's descriptor (from its beat 0 on)
reg         e_proc_reg = 1'b0;
reg         e_dec_reg = 1'b0;
reg         e_nsh_reg = 1'b0;
reg [USER_WIDTH-1:0] e_user_reg = 0;
reg [127:0] e_hdr_reg = 0;
reg         e_half0_reg = 1'b0;     // keystream half of the current beat: the upper one
reg [11:0]  e_hleft_reg = 0;        // keystream halves left for this frame
reg         e_nh_reg = 1'b0;        // e_hleft_reg != 0: this beat takes a keystream half
reg         e_lh_reg = 1'b0;        // e_hleft_reg == 1
reg [10:0]  e_bleft_reg = 0;        // keystream blocks left to pop for this frame
reg         e_b0_reg = 1'b0;        // e_bleft_reg == 0
reg         e_b1_reg = 1'b0;        // e_bleft_reg == 1
reg [16:0]  e_rem_reg = 0;          // bytes of the IPv4 packet from the current beat on (>= 0)
reg         e_rem32_reg = 1'b0;     // e_rem_reg >= 32
reg [255:0] e_prev_half_reg = 0;

wire e_beat0 = e_beat_reg == 2'd0;

// keystream for the current beat
wire need_half = e_nh_reg;
wire [255:0] cur_half = need_half ? (e_half0_reg ? ks_block[511:256] : ks_block[255:0]) : 256'd0;
wire [511:0] ks_win = {cur_half, e_prev_half_reg};
// ks byte for data byte i = ks_win byte (32 - r + i), r = offset of the first encrypted byte
// inside input beat 1: 2 / 10 (encrypt plain / NSH), 18 / 26 (decrypt plain / NSH)
wire [1:0] ks_sel = {e_dec_reg, e_nsh_reg};
wire [255:0] ks_beat = ks_sel == 2'd0 ? ks_win[(2*KEEP_WIDTH - ENC_PLAIN)*8 +: 256]
    : ks_sel == 2'd1 ? ks_win[(2*KEEP_WIDTH - ENC_NSH)*8 +: 256]
    : ks_sel == 2'd2 ? ks_win[(2*KEEP_WIDTH - DEC_PLAIN)*8 +: 256]
    : ks_win[(2*KEEP_WIDTH - DEC_NSH)*8 +: 256];
// first encrypted byte of beat 1
wire [4:0] ks_first = ks_sel == 2'd0 ? R_PLAIN : ks_sel == 2'd1 ? R_NSH
    : ks_sel == 2'd2 ? R_PLAIN + HDR_LEN : R_NSH + HDR_LEN;

// byte gx is encrypted: a processed beat 1 or later, from the first encrypted byte (beat 1),
// inside the IPv4 packet and the frame
wire [255:0] xmask;
genvar gx;
generate
    for (gx = 0; gx < 32; gx = gx + 1) begin : g_xmask
        assign xmask[8*gx +: 8] = (!e_pass_reg && (e_beat_reg != 2'd1 || gx >= ks_first)
            && (e_rem32_reg || e_rem_reg[4:0] > gx) && d_keep[gx]) ? 8'hff : 8'h00;
    end
endgenerate
wire [255:0] x = d_data ^ (ks_beat & xmask);

wire pop_ks_now = need_half && (e_half0_reg || e_lh_reg);
// every block of the frame popped after this beat
wire blk_done = pop_ks_now ? e_b1_reg : e_b0_reg;
// output beats E2 will push for a processed beat: one, but a decrypted frame's beat 1 only
// when it is the last; a spill beat after a last beat with more than 16 bytes (not decrypt's
// beat 1: it dropped 16)
wire p_emit = !e_b1dec_reg || d_last;
wire p_extra = !e_b1dec_reg && d_last && d_keep[16];

// output queue (below): entries used, and those E2 pushes this cycle (at most 4 together)
reg [2:0] q_cnt_reg = 0;
reg [1:0] e2_n_reg = 0;
// room for one / two more (equalities only: no carry chain on this path)
wire q_room1 = q_cnt_reg == 3'd0 || (q_cnt_reg == 3'd1 && e2_n_reg != 2'd3)
    || (q_cnt_reg == 3'd2 && e2_n_reg[1] == 1'b0) || (q_cnt_reg == 3'd3 && e2_n_reg == 2'd0);
wire q_room2 = q_cnt_reg == 3'd0 || (q_cnt_reg == 3'd1 && e2_n_reg[1] == 1'b0)
    || (q_cnt_reg == 3'd2 && e2_n_reg == 2'd0);
wire room_proc = p_extra ? q_room2 : p_emit ? q_room1 : 1'b1;

wire e_beats = e_state_reg == ST_BEATS && d_valid;
wire e_pop_pass = e_beats && e_pass_reg && (!e_beat0 || desc_valid) && q_room1;
wire e_pop_proc = e_beats && !e_pass_reg && (!need_half || ks_valid) && room_proc;
wire e_drain = e_state_reg == ST_DRAIN;

assign d_pop = e_pop_pass || e_pop_proc;
assign desc_pop = e_pop_pass && e_beat0;
assign ks_pop = (e_pop_proc && pop_ks_now) || (e_drain && !e_b0_reg && ks_valid);

// stage E2
reg                  e2_valid_reg = 1'b0;
reg                  e2_pass_reg = 1'b0;
reg [1:0]            e2_beat_reg = 2'd0;
reg                  e2_dec_reg = 1'b0;
reg                  e2_nsh_reg = 1'b0;
reg [DATA_WIDTH-1:0] e2_data_reg = 0;
reg [KEEP_WIDTH-1:0] e2_keep_reg = 0;
reg                  e2_last_reg = 1'b0;
reg [USER_WIDTH-1:0] e2_user_reg = 0;
reg [127:0]          e2_hdr_reg = 0;
reg [127:0]          hold_data_reg = 0;
reg [15:0]           hold_keep_reg = 0;

always @(posedge clk) begin
    e2_valid_reg <= d_pop;
    e2_n_reg <= e_pop_pass ? 2'd1 : e_pop_proc ? {1'b0, p_emit} + {1'b0, p_extra} : 2'd0;
    e2_pass_reg <= e_pass_reg;
    e2_beat_reg <= e_beat_reg;
    e2_dec_reg <= e_dec_reg;
    e2_nsh_reg <= e_nsh_reg;
    e2_data_reg <= x;
    e2_keep_reg <= d_keep;
    e2_last_reg <= d_last;
    e2_user_reg <= (e_beat0 ? desc_proc : e_proc_reg) ? (e_beat0 ? desc_user : e_user_reg)
        : d_user;
    e2_hdr_reg <= e_hdr_reg;

    case (e_state_reg)
        ST_BEATS: begin
            if (e_pop_pass && e_beat0) begin
                // beat 0: the frame's descriptor and counters (beat 1 is next)
                e_beat_reg <= d_last ? 2'd0 : 2'd1;
                e_pass_reg <= d_last || !desc_proc;
                e_b1dec_reg <= !d_last && desc_proc && desc_dec;
                e_proc_reg <= desc_proc;
                e_dec_reg <= desc_dec;
                e_nsh_reg <= desc_nsh;
                e_user_reg <= desc_user;
                e_hdr_reg <= desc_hdr;
                e_half0_reg <= 1'b0;
                e_hleft_reg <= desc_nhalves;
                e_nh_reg <= desc_nh;
                e_lh_reg <= desc_lh;
                e_bleft_reg <= desc_nblk;
                e_b0_reg <= desc_b0;
                e_b1_reg <= desc_b1;
                e_rem_reg <= desc_rem;
                e_rem32_reg <= desc_rem32;
            end else if (e_pop_pass) begin
                // a later beat of a frame passed unchanged
                if (d_last) e_beat_reg <= 2'd0;
            end else if (e_pop_proc) begin
                e_prev_half_reg <= cur_half;
                e_b1dec_reg <= 1'b0;
                if (need_half) begin
                    e_half0_reg <= !e_half0_reg;
                    e_hleft_reg <= e_hleft_reg - 1;
                    e_nh_reg <= !e_lh_reg;
                    e_lh_reg <= e_hleft_reg == 12'd2;
                end
                if (pop_ks_now) begin
                    e_bleft_reg <= e_bleft_reg - 1;
                    e_b0_reg <= e_b1_reg;
                    e_b1_reg <= e_bleft_reg == 11'd2;
                end
                e_rem_reg <= e_rem32_reg ? e_rem_reg - 17'd32 : 17'd0;
                e_rem32_reg <= e_rem_reg >= 17'd64;
                e_beat_reg <= 2'd2;
                if (d_last) begin
                    e_beat_reg <= 2'd0;
                    e_pass_reg <= 1'b1;
                    if (!blk_done) e_state_reg <= ST_DRAIN;
                end
            end
        end
        ST_DRAIN: begin
            // the blocks of a frame shorter than its IPv4 total length
            if (e_b0_reg) begin
                e_state_reg <= ST_BEATS;
            end else if (ks_pop) begin
                e_bleft_reg <= e_bleft_reg - 1;
                e_b0_reg <= e_b1_reg;
                e_b1_reg <= e_bleft_reg == 11'd2;
            end
        end
        default: e_state_reg <= ST_BEATS;
    endcase

    if (rst) begin
        e_state_reg <= ST_BEATS;
        e_beat_reg <= 2'd0;
        e_pass_reg <= 1'b1;
        e_b1dec_reg <= 1'b0;
        e2_valid_reg <= 1'b0;
        e2_n_reg <= 2'd0;
    end
end

// realignment: {out_data, out_keep, out_emit, out_last, go_extra, hold_data_next,
// hold_keep_next} for a processed beat
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
    realign(e2_beat_reg, e2_dec_reg, e2_nsh_reg, e2_data_reg, e2_keep_reg, e2_last_reg,
        e2_hdr_reg, hold_data_reg, hold_keep_reg);

// beats pushed into the output queue this cycle (q2 only with q1)
wire                  q1_push = e2_valid_reg && (e2_pass_reg || out_emit);
wire                  q2_push = e2_valid_reg && !e2_pass_reg && go_extra;
wire [DATA_WIDTH-1:0] q1_data = e2_pass_reg ? e2_data_reg : out_data;
wire [KEEP_WIDTH-1:0] q1_keep = e2_pass_reg ? e2_keep_reg : out_keep;
wire                  q1_last = e2_pass_reg ? e2_last_reg : out_last;

// the spill beat: the upper half of the frame's last beat, alone
wire [DATA_WIDTH-1:0] q2_data = {128'd0, hold_data_next};
wire [KEEP_WIDTH-1:0] q2_keep = {16'd0, hold_keep_next};

// output queue: Q_DEPTH entries shifting towards entry 0, which drives m_axis
localparam QW = USER_WIDTH + 1 + KEEP_WIDTH + DATA_WIDTH;
reg [QW-1:0] q_reg [0:Q_DEPTH-1];

assign {m_axis_tuser, m_axis_tlast, m_axis_tkeep, m_axis_tdata} = q_reg[0];
assign m_axis_tvalid = q_cnt_reg != 0;

wire       q_pop = q_cnt_reg != 0 && m_axis_tready;
// where this cycle's pushes go
wire [2:0] q_base = q_cnt_reg - {2'd0, q_pop};

integer qi;

always @(posedge clk) begin
    if (e2_valid_reg && !e2_pass_reg) begin
        hold_data_reg <= hold_data_next;
        hold_keep_reg <= hold_keep_next;
    end

    for (qi = 0; qi < Q_DEPTH; qi = qi + 1) begin
        if (qi < q_base) begin
            if (q_pop) q_reg[qi] <= q_reg[(qi + 1) % Q_DEPTH];
        end else if (qi == q_base) begin
            q_reg[qi] <= {e2_user_reg, q1_last, q1_keep, q1_data};
        end else if (qi == q_base + 1) begin
            q_reg[qi] <= {e2_user_reg, 1'b1, q2_keep, q2_data};
        end
    end
    q_cnt_reg <= q_base + {2'd0, q1_push} + {2'd0, q2_push};

    if (rst) q_cnt_reg <= 0;
end

endmodule

`resetall
