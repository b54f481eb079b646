// wp_pe_out: output stage of a PE. Joins the frame FIFO with the per-frame action FIFO.
//
// For every frame the action FIFO holds {drop, NUM_PATCH patches}; a patch is
// {offset[7:0], len[2:0], value[31:0]}: bytes offset..offset+len-1 of the frame become the
// len low bytes of value, big-endian (len 0 = unused). A dropped frame is consumed at one beat
// per cycle without being output. The action entry is popped with the frame's last beat.
// A credit-counted pipeline of plain registers into an output FIFO (wp_fifo); m_axis_tready
// reaches only that FIFO's head, s_axis_tready is the join of the inputs and a register.

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
    parameter NUM_PATCH = 1
) (
    input  wire                         clk,
    input  wire                         rst,

    input  wire [DATA_WIDTH-1:0]        s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]      s_axis_tkeep,
    input  wire [USER_WIDTH-1:0]        s_axis_tuser,
    input  wire                         s_axis_tlast,
    input  wire                         s_axis_tvalid,
    output wire                         s_axis_tready,

    input  wire                         act_drop,
    input  wire [NUM_PATCH*`WP_PATCH_WIDTH-1:0]      act_patch,
    input  wire                         act_valid,
    output wire                         act_ready,

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
end

// A pipeline of plain registers (no enables, no skid buffers: each stage's logic ends at a
// flip-flop) into a FIFO at the output (wp_fifo: m_axis_* from its head register). The join takes
// a beat only while the beats taken and not yet popped from the FIFO leave it room (a credit
// count, registered), so the pipeline never has to stop; m_axis_tready reaches only the FIFO's
// head, never the input side (s_axis_tready is the join and a register). Latency: a beat taken
// in cycle t is written to the FIFO after stage 1 (cycle t + 3) and offered on m_axis at t + 5;
// with m_axis_tready high, one beat per cycle.
//
// Stage J is the join: the beat, its index and, per patch, the action with its end
// E = offset + len - 1 (the only adder, from the action FIFO's head register). Stage 0 works
// out, per patch, what a byte of this beat needs from the distance d = offset - beat start and
// the end e = E - beat start: whether the patch touches the beat at all, d below 0 or d in
// 0..31, e clamped to 0..63. The beat start is a multiple of 32, so d[4:0] = offset[4:0],
// e[4:0] = E[4:0], and the rest are compares of offset[7:5] and E[8:5] with the beat index
// (LUTs, no adders). Stage 1 works out, per byte j of the beat, whether a patch covers it and
// which byte of the patch value goes there (5- and 6-bit compares against the constant j, as
// AND/OR terms). Stage 2, the byte mux, writes the FIFO.
localparam NP_W = NUM_PATCH > 1 ? $clog2(NUM_PATCH) : 1;
localparam SEL_W = 1 + NP_W + 3;  // {hit, patch index, value byte (0 = least significant)}
localparam JP_W = 8 + 1 + 9;      // per patch {offset, len != 0, E}
localparam DE_W = 13;             // per patch {touches beat, d < 0, d[4:0], e clamped [5:0]}
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

wire active = s_axis_tvalid && act_valid;
wire take = active && !act_drop && room_reg;
assign s_axis_tready = active && (act_drop || room_reg);
assign act_ready = s_axis_tready && s_axis_tlast;

// stage J: per patch {offset, len != 0, E = offset + len - 1} (E is 9 bits: no wrap)
function [NUM_PATCH*JP_W-1:0] patch_j(input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    reg [7:0] off;
    reg [2:0] len;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            len = patch[p*`WP_PATCH_WIDTH + 32 +: 3];
            off = patch[p*`WP_PATCH_WIDTH + 35 +: 8];
            patch_j[p*JP_W +: JP_W] = {off, len != 3'd0, {1'b0, off} + {6'd0, len - 3'd1}};
        end
    end
endfunction

function [NUM_PATCH*32-1:0] patch_vals(input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) patch_vals[p*32 +: 32] = patch[p*`WP_PATCH_WIDTH +: 32];
    end
endfunction

// stage 0: per patch of the beat: d = offset - 32 b, e = E - 32 b for the beat index b
function [NUM_PATCH*DE_W-1:0] patch_de(input [IDX_W-1:0] idx, input [NUM_PATCH*JP_W-1:0] pat);
    integer p;
    reg [7:0] off;
    reg       len_nz;
    reg [8:0] e_end;
    reg [3:0] b;      // the beat index below saturation (idx[IDX_W-1] = 0)
    reg [3:0] e_hi;   // E[8:5]: e = 32 (e_hi - b) + E[4:0]
    reg       touch;
    begin
        b = {1'b0, idx[IDX_W-2:0]};
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            {off, len_nz, e_end} = pat[p*JP_W +: JP_W];
            e_hi = e_end[8:5];
            // some byte 0..31 lies in d..e: d <= 31 (offset[7:5] <= b) and e >= 0 (e_hi >= b)
            touch = !idx[IDX_W-1] && len_nz && {1'b0, off[7:5]} <= b && e_hi >= b;
            // e clamped to 0..63 (only used when touch, so e >= 0): 63 from e_hi - b >= 2 on
            patch_de[p*DE_W +: DE_W] = {touch, {1'b0, off[7:5]} < b, off[4:0],
                                        e_hi >= b + 4'd2 ? 6'd63 : {e_hi != b, e_end[4:0]}};
        end
    end
endfunction

// stage 1: per-byte selects of the beat. The compares against the constant j are written as
// AND/OR terms (x >= c from the least significant bit up): yosys makes a compare, even against
// a constant, a carry chain, and 32 bytes x 3 of them in series with the hit logic were this
// stage's path.
function ge_const6(input [5:0] x, input integer c);
    integer i;
    reg r;
    begin
        r = 1'b1;
        for (i = 0; i < 6; i = i + 1) r = ((c >> i) & 1) ? x[i] && r : x[i] || r;
        ge_const6 = c < 64 && (c < 0 || r);
    end
endfunction

function [KEEP_WIDTH*SEL_W-1:0] patch_sel(input [NUM_PATCH*DE_W-1:0] de);
    integer j, p;
    reg       touch, d_neg;
    reg [4:0] d_lo;
    reg [5:0] e_c;
    reg [2:0] jj;
    begin
        patch_sel = 0;
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            {touch, d_neg, d_lo, e_c} = de[p*DE_W +: DE_W];
            for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
                jj = j;
                // d <= j <= e, as in the byte loop: pos >= off && pos - off < len
                // (d_lo <= j is !(d_lo >= j + 1))
                if (touch && (d_neg || !ge_const6({1'b0, d_lo}, j + 1)) && ge_const6(e_c, j)) begin
                    // a value byte past the 4th is 0 (val >> 32 and more): e > j + 3
                    patch_sel[j*SEL_W +: SEL_W] = {1'b1, p[NP_W-1:0],
                        ge_const6(e_c, j + 4) ? 3'd4 : e_c[2:0] - jj};
                end
            end
        end
    end
endfunction

// stage 2: the byte mux
function [DATA_WIDTH-1:0] patch_beat(input [DATA_WIDTH-1:0] data,
    input [KEEP_WIDTH*SEL_W-1:0] sel, input [NUM_PATCH*32-1:0] vals);
    integer j, p;
    reg [SEL_W-1:0] s;
    reg [31:0] v;
    begin
        patch_beat = data;
        for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
            s = sel[j*SEL_W +: SEL_W];
            v = vals[31:0];
            for (p = 1; p < NUM_PATCH; p = p + 1) begin
                if (s[3 +: NP_W] == p) v = vals[p*32 +: 32];
            end
            if (s[SEL_W-1]) patch_beat[j*8 +: 8] = s[2] ? 8'd0 : v[s[1:0]*8 +: 8];
        end
    end
endfunction

reg                         j_valid_reg = 1'b0;
reg [BEAT_W-1:0]            j_beat_reg = 0;
reg [IDX_W-1:0]             j_idx_reg = 0;
reg [NUM_PATCH*JP_W-1:0]    j_pat_reg = 0;
reg [NUM_PATCH*32-1:0]      j_vals_reg = 0;
reg                         pre_valid_reg = 1'b0;
reg [BEAT_W-1:0]            pre_beat_reg = 0;
reg [NUM_PATCH*DE_W-1:0]    pre_de_reg = 0;
reg [NUM_PATCH*32-1:0]      pre_vals_reg = 0;
reg                         mid_valid_reg = 1'b0;
reg [BEAT_W-1:0]            mid_beat_reg = 0;
reg [KEEP_WIDTH*SEL_W-1:0]  mid_sel_reg = 0;
reg [NUM_PATCH*32-1:0]      mid_vals_reg = 0;

always @(posedge clk) begin
    j_valid_reg <= take;
    j_beat_reg <= {s_axis_tdata, s_axis_tkeep, s_axis_tuser, s_axis_tlast};
    j_idx_reg <= beat_idx_reg;
    j_pat_reg <= patch_j(act_patch);
    j_vals_reg <= patch_vals(act_patch);
    pre_valid_reg <= j_valid_reg;
    pre_beat_reg <= j_beat_reg;
    pre_de_reg <= patch_de(j_idx_reg, j_pat_reg);
    pre_vals_reg <= j_vals_reg;
    mid_valid_reg <= pre_valid_reg;
    mid_beat_reg <= pre_beat_reg;
    mid_sel_reg <= patch_sel(pre_de_reg);
    mid_vals_reg <= pre_vals_reg;
    if (rst) begin
        j_valid_reg <= 1'b0;
        pre_valid_reg <= 1'b0;
        mid_valid_reg <= 1'b0;
    end
end

wire pop = m_axis_tvalid && m_axis_tready;

always @(posedge clk) begin
    used_reg <= used_reg + {{FIFO_LOG2{1'b0}}, take} - {{FIFO_LOG2{1'b0}}, pop};
    room_reg <= used_reg <= CREDITS - 2;
    if (s_axis_tvalid && s_axis_tready) begin
        if (s_axis_tlast) begin
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

wire [DATA_WIDTH-1:0] mid_tdata = mid_beat_reg[BEAT_W-1 -: DATA_WIDTH];

// never full: at most CREDITS beats are taken and not yet popped
wp_fifo #(.WIDTH(BEAT_W), .DEPTH_LOG2(FIFO_LOG2), .NO_OVERFLOW(1)) out_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_data({patch_beat(mid_tdata, mid_sel_reg, mid_vals_reg), mid_beat_reg[BEAT_W-DATA_WIDTH-1:0]}),
    .s_valid(mid_valid_reg),
    .s_ready(),
    .m_data({m_axis_tdata, m_axis_tkeep, m_axis_tuser, m_axis_tlast}),
    .m_valid(m_axis_tvalid),
    .m_ready(m_axis_tready),
    .count()
);

endmodule

`resetall
