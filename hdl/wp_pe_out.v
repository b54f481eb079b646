// wp_pe_out: output stage of a PE. Queues the PE's frames and its per-frame actions (a frame
// FIFO and an action FIFO, both wp_fifo), joins them, patches and outputs the frames.
//
// For every frame the PE pushes one action word (act_valid, act_word), no earlier than the
// frame's first beat (so the action FIFO, as deep as the frame FIFO, never fills). The action is
// {drop, NUM_PATCH patches}; a patch is {offset[7:0], len[2:0], value[31:0]}: bytes
// offset..offset+len-1 of the frame become the len low bytes of value, big-endian (len 0 =
// unused). A dropped frame is consumed at one beat per cycle without being output. The action
// is popped with the frame's last beat. ACT_DECODE = 1: the word is the PE's own packing
// (ACT_W bits); the PE decodes the head word (act_head) back into patches by wiring
// (act_patch), and drop is bit ACT_DROP_BIT of the word (-1: never).
// A credit-counted pipeline of plain registers into an output FIFO (wp_fifo); m_axis_tready
// reaches only that FIFO's head.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_frame.vh"

module wp_pe_out #(
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = `WP_TUSER_WIDTH,
    // Number of byte patches per frame
    parameter NUM_PATCH = 1,
    // Width of the action word
    parameter ACT_W = 1 + NUM_PATCH * `WP_PATCH_WIDTH,
    // 0: the action word is {drop, patches}; 1: the PE decodes act_head into act_patch
    parameter ACT_DECODE = 0,
    // the drop bit in the action word (-1: no frame is dropped)
    parameter ACT_DROP_BIT = ACT_W - 1,
    // log2 of the frame and action FIFOs' depth (entries)
    parameter FIFO_DEPTH_LOG2 = 4,
    // both FIFOs FREE_WRITE (wp_fifo): one entry fewer, no write enable behind the full flag
    parameter FREE_WRITE = 0,
    // the frame FIFO's and the action FIFO's heads in this many slices (wp_fifo HEAD_SLICES),
    // each loaded by a take flip-flop of its own
    parameter FRAME_SLICES = 8,
    parameter ACT_SLICES = 2
) (
    input  wire                         clk,
    input  wire                         rst,

    input  wire [DATA_WIDTH-1:0]        s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]      s_axis_tkeep,
    input  wire [USER_WIDTH-1:0]        s_axis_tuser,
    input  wire                         s_axis_tlast,
    input  wire                         s_axis_tvalid,
    output wire                         s_axis_tready,

    // one action per frame (no ready: never full, see above)
    input  wire                         act_valid,
    input  wire [ACT_W-1:0]             act_word,
    // the action FIFO's head, and (ACT_DECODE = 1) its patches as the PE decodes them
    output wire [ACT_W-1:0]             act_head,
    input  wire [NUM_PATCH*`WP_PATCH_WIDTH-1:0]      act_patch,

    output wire [DATA_WIDTH-1:0]        m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]      m_axis_tkeep,
    output wire [USER_WIDTH-1:0]        m_axis_tuser,
    output wire                         m_axis_tlast,
    output wire                         m_axis_tvalid,
    input  wire                         m_axis_tready
);

localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam BEAT_LOG2 = $clog2(KEEP_WIDTH);

initial begin
    if (NUM_PATCH < 1 || (1 << BEAT_LOG2) != KEEP_WIDTH) begin
        $error("Error: NUM_PATCH >= 1 and DATA_WIDTH/8 a power of two (instance %m)");
        $finish;
    end
    if (ACT_DECODE == 0 && ACT_W != 1 + NUM_PATCH * `WP_PATCH_WIDTH) begin
        $error("Error: without ACT_DECODE, ACT_W is 1 + NUM_PATCH patches (instance %m)");
        $finish;
    end
    if (ACT_DROP_BIT < -1 || ACT_DROP_BIT >= ACT_W) begin
        $error("Error: ACT_DROP_BIT must be in -1..ACT_W-1 (instance %m)");
        $finish;
    end
end

// A pipeline of plain registers (no enables, no skid buffers: each stage's logic ends at a
// flip-flop) into a FIFO at the output (wp_fifo: m_axis_* from its head register). The join takes
// a beat only while the beats taken and not yet popped from the FIFO leave it room (a credit
// count, registered), so the pipeline never has to stop; m_axis_tready reaches only the FIFO's
// head, never the input side (s_axis_tready is the frame FIFO's). Latency: a beat taken
// in cycle t is written to the FIFO from stage M (cycle t + 6) and offered on m_axis at t + 8;
// with m_axis_tready high, one beat per cycle.
//
// A patch covers at most two beats (len <= 7): the beat holding its offset and maybe the next.
// Per patch, with b the beat index and ob = offset[7:5]:
//   J  the join (below): the beat, its index and the action as it is (no logic on it).
//   A  st = (ob == b), stm1 = (ob + 1 == b) (beat index below saturation, len != 0) and two
//      5-bit adds: the end E[4:0] = offset[4:0] + len - 1 with its carry c (E in the next
//      beat), and the first byte with a nonzero value byte F[4:0] = offset[4:0] + (len > 4 ?
//      len - 4 : 0) with its carry cf (value bytes past the 4th are 0).
//   B  the bytes of this beat the patch covers, lo..hi, and those with a nonzero value byte,
//      lo2..hi (nz: some), as flags per byte j: lo <= j, hi >= j, nz && lo2 <= j (the
//      bounds' compares with the constant j); the value rotated so that its byte k sits in
//      lane (E - k) mod 4 (the byte lane of its place in the beat).
//   C  per byte j: covered (lo <= j <= hi) and nonzero (nz && lo2 <= j <= hi): ANDs of two
//      flags.
//   D  per byte j: the one-hot winner, the last patch covering j when its byte there is
//      nonzero (a later patch wins, as a loop over the patches would), and keep: no patch
//      covers j (a covered byte with no winner is 0).
//   M  the byte mux as an AND-OR: byte j = OR over patches (winner & rotated value, lane
//      j mod 4) | (keep & data); registered, it writes the FIFO.
localparam A_W = 4 + 15;          // per patch {st, stm1, c, cf, offset[4:0], E[4:0], F[4:0]}
localparam B_W = 3 * KEEP_WIDTH;  // per patch, per byte {lo2 <= j and nz, hi >= j, lo <= j}
localparam IDX_W = 9 - BEAT_LOG2; // beat index, saturating at 2^(8 - BEAT_LOG2)
localparam BEAT_W = DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1;
localparam FIFO_LOG2 = 4;         // the output FIFO: 16 entries (one LUT RAM deep)
localparam CREDITS = 1 << FIFO_LOG2;

initial begin
    if (KEEP_WIDTH != 32) begin
        $error("Error: DATA_WIDTH must be 256 (instance %m)");
        $finish;
    end
end

// beat index, saturating (patches only reach the first 256 bytes)
reg [IDX_W-1:0] beat_idx_reg = 0;

// beats taken and not yet popped from the output FIFO (in the pipeline or in the FIFO), and
// room for one more: set from the count of the cycle before, which is at most one below this
// cycle's, so the count never exceeds CREDITS (the FIFO never fills)
reg [FIFO_LOG2:0] used_reg = 0;
reg               room_reg = 1'b0;
wire              room_next = used_reg <= CREDITS - 2;

// The frame FIFO ({tdata, tkeep, tuser, tlast}, the layout of a pipeline beat) and the action
// FIFO. Both are as deep, and an action is pushed no earlier than its frame's first beat, so the
// action FIFO holds no more entries than the frame FIFO: it never fills.
wire [BEAT_W-1:0]    f_beat;
wire                 f_valid, f_next_valid;
wire                 f_last = f_beat[0];
wire                 a_valid, a_next_valid;
wire [ACT_W-1:0]     a_next_word;
wire                 go;
wire [FRAME_SLICES-1:0] go_frame;
wire [ACT_SLICES-1:0]   go_act;

wp_fifo #(.WIDTH(BEAT_W), .DEPTH_LOG2(FIFO_DEPTH_LOG2), .FREE_WRITE(FREE_WRITE),
    .HEAD_SLICES(FRAME_SLICES), .READY_W(FRAME_SLICES)) frame_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data({s_axis_tdata, s_axis_tkeep, s_axis_tuser, s_axis_tlast}),
    .s_valid(s_axis_tvalid), .s_ready(s_axis_tready),
    .m_data(f_beat), .m_valid(f_valid), .m_ready(go_frame),
    .m_next_valid(f_next_valid), .m_next_data(),
    .count()
);

wp_fifo #(.WIDTH(ACT_W), .DEPTH_LOG2(FIFO_DEPTH_LOG2), .FREE_WRITE(FREE_WRITE),
    .HEAD_SLICES(ACT_SLICES), .READY_W(ACT_SLICES)) act_fifo_inst (
    .clk(clk), .rst(rst),
    .s_data(act_word), .s_valid(act_valid), .s_ready(),
    .m_data(act_head), .m_valid(a_valid), .m_ready(go_act & {ACT_SLICES{f_last}}),
    .m_next_valid(a_next_valid), .m_next_data(a_next_word),
    .count()
);

// the head action's drop flag (now and in the next cycle) and patches
wire drop, next_drop;
wire [NUM_PATCH*`WP_PATCH_WIDTH-1:0] head_patch;
generate
    if (ACT_DROP_BIT >= 0) begin : g_drop
        assign drop = act_head[ACT_DROP_BIT];
        assign next_drop = a_next_word[ACT_DROP_BIT];
    end else begin : g_no_drop
        assign drop = 1'b0;
        assign next_drop = 1'b0;
    end
    if (ACT_DECODE != 0) begin : g_decode
        assign head_patch = act_patch;
    end else begin : g_raw
        assign head_patch = act_head[NUM_PATCH*`WP_PATCH_WIDTH-1:0];
    end
endgenerate

// The join: go = both heads valid and, unless the frame is dropped, room; the beat is taken
// (and the action popped with the last beat). go is kept in flip-flops, loaded with its value
// for the next cycle: the FIFOs' heads in the next cycle (m_next_valid, m_next_data: given this
// cycle's go) and the credit count's room (room_reg's next value). One copy per head slice of
// each FIFO, so each slice's load enable is one LUT of flip-flops beside it, and one for the
// state here. Before, go was a LUT of the heads' flip-flops whose net reached every slice's
// enable LUT: the 2.4 ns net to 16 slices, then 1.8 ns to a slice's flip-flops, was wp_nat's
// ECP5 path at 230b57b (seeds 2 and 3) and the waypoint's (via the action FIFO's fill).
localparam GO_COPIES = 1 + FRAME_SLICES + ACT_SLICES;
// (rst clears the copies through their reset input: in go_next it was wp_fw's ECP5 path at
// 913467f, seed 1, the harness's rst net 2.42 ns and then three LUTs)
wire go_next = f_next_valid && a_next_valid && (next_drop || room_next);
wire [GO_COPIES-1:0] go_q;
wp_reg_copies #(.WIDTH(1), .COPIES(GO_COPIES)) go_inst (
    .clk(clk), .rst(rst), .en(1'b1), .d(go_next), .q(go_q)
);
assign go = go_q[0];
assign go_frame = go_q[1 +: FRAME_SLICES];
assign go_act = go_q[1 + FRAME_SLICES +: ACT_SLICES];
wire take = go && !drop;

`ifdef FORMAL
always @(*) assert (go_q == {GO_COPIES{f_valid && a_valid && (drop || room_reg)}});
`endif

function [NUM_PATCH*32-1:0] patch_vals(input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) patch_vals[p*32 +: 32] = patch[p*`WP_PATCH_WIDTH +: 32];
    end
endfunction

// stage A: per patch, the place of its beats relative to beat idx and the in-beat adds
function [NUM_PATCH*A_W-1:0] patch_a(input [IDX_W-1:0] idx,
    input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    reg [7:0] off;
    reg [2:0] len;
    reg [2:0] g;      // len - 4 when len > 4, else 0
    reg       v;      // len != 0 and the beat index below saturation
    reg [5:0] e, f;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            len = patch[p*`WP_PATCH_WIDTH + 32 +: 3];
            off = patch[p*`WP_PATCH_WIDTH + 35 +: 8];
            v = len != 3'd0 && !idx[IDX_W-1];
            g = len[2] ? {1'b0, len[1:0]} : 3'd0;
            e = {1'b0, off[4:0]} + {3'd0, len} - 6'd1;
            f = {1'b0, off[4:0]} + {3'd0, g};
            patch_a[p*A_W +: A_W] = {v && {1'b0, off[7:5]} == idx,
                                     v && {1'b0, off[7:5]} + 4'd1 == idx,
                                     e[5], f[5], off[4:0], e[4:0], f[4:0]};
        end
    end
endfunction

// x >= c for a constant c, as AND/OR terms from the least significant bit up (yosys makes a
// compare, even against a constant, a carry chain)
function ge_const5(input [4:0] x, input integer c);
    integer i;
    reg r;
    begin
        r = 1'b1;
        for (i = 0; i < 5; i = i + 1) r = ((c >> i) & 1) ? x[i] && r : x[i] || r;
        ge_const5 = c < 32 && (c < 0 || r);
    end
endfunction

// stage B: per patch and byte j of the beat, three bounds as per-byte flags, byte-major
// within the patch: {lo2 <= j and nz, hi >= j, lo <= j} (lo..hi the bytes the patch covers,
// lo2..hi those with a nonzero value byte; none: all 0). Each flag reads 8 or 9 bits of stage
// A (the bound's 5 bits and the case flags); stage C ANDs two. As 5-bit bounds here and the
// compares in stage C (a 10-input function per byte, each bound bit driving 64 of them) it
// was wp_nat's ECP5 path at aefc6fd, seed 1 (b_pat_reg -> c_pat_reg, 5 levels).
function [NUM_PATCH*B_W-1:0] patch_b(input [NUM_PATCH*A_W-1:0] pa);
    integer p, j;
    reg       st, stm1, c, cf, sc;
    reg [4:0] o_lo, e_lo, f_lo;
    reg       o_le, e_ge, f_le;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            {st, stm1, c, cf, o_lo, e_lo, f_lo} = pa[p*A_W +: A_W];
            // st: the patch starts in this beat (lo = o_lo, hi = c ? 31 : e_lo, nz = !cf,
            // lo2 = f_lo); sc: it started in the beat before and ends here (lo = 0,
            // hi = e_lo, nz, lo2 = cf ? f_lo : 0); st and stm1 exclude each other
            sc = stm1 && c;
            for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
                o_le = !ge_const5(o_lo, j + 1);
                e_ge = ge_const5(e_lo, j);
                f_le = !ge_const5(f_lo, j + 1);
                patch_b[p*B_W + 3*j +: 3] = {
                    st ? !cf && f_le : sc && (!cf || f_le),
                    st ? c || e_ge : sc && e_ge,
                    st ? o_le : sc};
            end
        end
    end
endfunction

// stage B: per patch, the value with its byte k in lane (E - k) mod 4
function [NUM_PATCH*32-1:0] patch_rot(input [NUM_PATCH*A_W-1:0] pa,
    input [NUM_PATCH*32-1:0] vals);
    integer p, l;
    reg [1:0] e, k;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            e = pa[p*A_W + 5 +: 2];
            for (l = 0; l < 4; l = l + 1) begin
                k = e - l[1:0];
                patch_rot[p*32 + l*8 +: 8] = vals[p*32 + k*8 +: 8];
            end
        end
    end
endfunction

// stage C: {nonzero, covered}, patch-major: bit p*KEEP_WIDTH + j of each half (covered:
// lo <= j <= hi; nonzero: nz and lo2 <= j <= hi), an AND of two of stage B's flags
function [2*NUM_PATCH*KEEP_WIDTH-1:0] patch_c(input [NUM_PATCH*B_W-1:0] pb);
    integer p, j;
    reg lo2_le, hi_ge, lo_le;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
                {lo2_le, hi_ge, lo_le} = pb[p*B_W + 3*j +: 3];
                patch_c[p*KEEP_WIDTH + j] = lo_le && hi_ge;
                patch_c[(NUM_PATCH + p)*KEEP_WIDTH + j] = lo2_le && hi_ge;
            end
        end
    end
endfunction

// stage D: {keep, winners}: winner bit p*KEEP_WIDTH + j, keep bit NUM_PATCH*KEEP_WIDTH + j
function [(NUM_PATCH+1)*KEEP_WIDTH-1:0] patch_d(input [2*NUM_PATCH*KEEP_WIDTH-1:0] pc);
    integer p, q, j;
    reg w, any;
    begin
        for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
            any = 1'b0;
            for (p = 0; p < NUM_PATCH; p = p + 1) begin
                w = pc[(NUM_PATCH + p)*KEEP_WIDTH + j];
                for (q = p + 1; q < NUM_PATCH; q = q + 1) w = w && !pc[q*KEEP_WIDTH + j];
                patch_d[p*KEEP_WIDTH + j] = w;
                any = any || pc[p*KEEP_WIDTH + j];
            end
            patch_d[NUM_PATCH*KEEP_WIDTH + j] = !any;
        end
    end
endfunction

// stage M: the byte mux
function [DATA_WIDTH-1:0] patch_beat(input [DATA_WIDTH-1:0] data,
    input [(NUM_PATCH+1)*KEEP_WIDTH-1:0] pd, input [NUM_PATCH*32-1:0] rot);
    integer j, p;
    reg [7:0] v;
    begin
        for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
            v = pd[NUM_PATCH*KEEP_WIDTH + j] ? data[j*8 +: 8] : 8'd0;
            for (p = 0; p < NUM_PATCH; p = p + 1) begin
                if (pd[p*KEEP_WIDTH + j]) v = v | rot[p*32 + (j % 4)*8 +: 8];
            end
            patch_beat[j*8 +: 8] = v;
        end
    end
endfunction

reg                                  j_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     j_beat_reg = 0;
reg [IDX_W-1:0]                      j_idx_reg = 0;
reg [NUM_PATCH*`WP_PATCH_WIDTH-1:0]  j_patch_reg = 0;
reg                                  a_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     a_beat_reg = 0;
reg [NUM_PATCH*A_W-1:0]              a_pat_reg = 0;
reg [NUM_PATCH*32-1:0]               a_vals_reg = 0;
reg                                  b_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     b_beat_reg = 0;
reg [NUM_PATCH*B_W-1:0]              b_pat_reg = 0;
reg [NUM_PATCH*32-1:0]               b_rot_reg = 0;
reg                                  c_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     c_beat_reg = 0;
reg [2*NUM_PATCH*KEEP_WIDTH-1:0]     c_pat_reg = 0;
reg [NUM_PATCH*32-1:0]               c_rot_reg = 0;
reg                                  d_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     d_beat_reg = 0;
reg [(NUM_PATCH+1)*KEEP_WIDTH-1:0]   d_pat_reg = 0;
reg [NUM_PATCH*32-1:0]               d_rot_reg = 0;
reg                                  m_valid_reg = 1'b0;
reg [BEAT_W-1:0]                     m_beat_reg = 0;

always @(posedge clk) begin
    j_valid_reg <= take;
    j_beat_reg <= f_beat;
    j_idx_reg <= beat_idx_reg;
    j_patch_reg <= head_patch;
    a_valid_reg <= j_valid_reg;
    a_beat_reg <= j_beat_reg;
    a_pat_reg <= patch_a(j_idx_reg, j_patch_reg);
    a_vals_reg <= patch_vals(j_patch_reg);
    b_valid_reg <= a_valid_reg;
    b_beat_reg <= a_beat_reg;
    b_pat_reg <= patch_b(a_pat_reg);
    b_rot_reg <= patch_rot(a_pat_reg, a_vals_reg);
    c_valid_reg <= b_valid_reg;
    c_beat_reg <= b_beat_reg;
    c_pat_reg <= patch_c(b_pat_reg);
    c_rot_reg <= b_rot_reg;
    d_valid_reg <= c_valid_reg;
    d_beat_reg <= c_beat_reg;
    d_pat_reg <= patch_d(c_pat_reg);
    d_rot_reg <= c_rot_reg;
    m_valid_reg <= d_valid_reg;
    m_beat_reg <= {patch_beat(d_beat_reg[BEAT_W-1 -: DATA_WIDTH], d_pat_reg, d_rot_reg),
                   d_beat_reg[BEAT_W-DATA_WIDTH-1:0]};
    if (rst) begin
        j_valid_reg <= 1'b0;
        a_valid_reg <= 1'b0;
        b_valid_reg <= 1'b0;
        c_valid_reg <= 1'b0;
        d_valid_reg <= 1'b0;
        m_valid_reg <= 1'b0;
    end
end

wire pop = m_axis_tvalid && m_axis_tready;

always @(posedge clk) begin
    used_reg <= used_reg + {{FIFO_LOG2{1'b0}}, take} - {{FIFO_LOG2{1'b0}}, pop};
    room_reg <= room_next;
    if (go) begin
        if (f_last) begin
            beat_idx_reg <= 0;
        end else if (!beat_idx_reg[IDX_W-1]) begin
            beat_idx_reg <= beat_idx_reg + 1;
        end
    end
    if (rst) begin
        used_reg <= 0;
        room_reg <= 1'b0;
        beat_idx_reg <= 0;
    end
end

// never full: at most CREDITS beats are taken and not yet popped. HEAD_SLICES: the head's
// 417 flip-flops loaded by eight enables (one load net to all of them, 2.47 ns, was this
// module's ECP5 path with five patches at a498a8f, seed 2)
wp_fifo #(.WIDTH(BEAT_W), .DEPTH_LOG2(FIFO_LOG2), .NO_OVERFLOW(1), .HEAD_SLICES(8))
    out_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_data(m_beat_reg),
    .s_valid(m_valid_reg),
    .s_ready(),
    .m_data({m_axis_tdata, m_axis_tkeep, m_axis_tuser, m_axis_tlast}),
    .m_valid(m_axis_tvalid),
    .m_ready(m_axis_tready),
    .m_next_valid(),
    .m_next_data(),
    .count()
);

endmodule

`resetall
