// wp_pe_out: output stage of a PE. Joins the frame FIFO with the per-frame action FIFO.
//
// For every frame the action FIFO holds {drop, NUM_PATCH patches}; a patch is
// {offset[7:0], len[2:0], value[31:0]}: bytes offset..offset+len-1 of the frame become the
// len low bytes of value, big-endian (len 0 = unused). A dropped frame is consumed at one beat
// per cycle without being output. The action entry is popped with the frame's last beat.
// Three register slices (wp_axis_reg): after the per-patch distance stage, after the per-byte
// select stage, at the output (after the byte mux); m_axis_tready reaches the FIFOs through
// registers.

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

// beat index, saturating (patches only reach the first 256 bytes)
reg [8-BEAT_LOG2:0] beat_idx_reg = 0;

// Three registered stages (two cycles more latency than a single patch stage, still one beat
// per cycle): stage 0 works out, per patch, its distance d = offset - beat start and its end
// e = d + len - 1 (the only arithmetic; from the beat index and the action) and reduces them
// to what a byte of this beat needs: whether the patch touches the beat at all, d below 0 or
// d in 0..31, e clamped to 0..63; a register slice (wp_axis_reg) holds the beat with them;
// stage 1 works out, per byte j of the beat, whether a patch covers it and which byte of the
// patch value goes there (5- and 6-bit compares against the constant j, no adders); a second
// slice holds the beat with these selects; stage 2 is the byte mux into the output slice.
localparam NP_W = NUM_PATCH > 1 ? $clog2(NUM_PATCH) : 1;
localparam SEL_W = 1 + NP_W + 3;  // {hit, patch index, value byte (0 = least significant)}
localparam DE_W = 13;             // per patch {touches beat, d < 0, d[4:0], e clamped [5:0]}
localparam BEAT_W = DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1;
localparam PRE_W = BEAT_W + NUM_PATCH * DE_W + NUM_PATCH * 32;
localparam MID_W = BEAT_W + KEEP_WIDTH * SEL_W + NUM_PATCH * 32;

initial begin
    if (KEEP_WIDTH != 32) begin
        $error("Error: DATA_WIDTH must be 256 (instance %m)");
        $finish;
    end
end

wire active = s_axis_tvalid && act_valid;
wire pre_s_valid = active && !act_drop;
wire pre_s_ready;
assign s_axis_tready = active && (act_drop || pre_s_ready);
assign act_ready = s_axis_tready && s_axis_tlast;

// stage 0: per patch of the current beat
function [NUM_PATCH*DE_W-1:0] patch_de(input [8-BEAT_LOG2:0] idx,
    input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    reg [9:0] d;  // offset - beat start, two's complement
    reg [9:0] e;  // d + len - 1: the byte of the value for byte j is e - j
    reg [2:0] len;
    reg       touch;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            len = patch[p*`WP_PATCH_WIDTH + 32 +: 3];
            d = {2'b00, patch[p*`WP_PATCH_WIDTH + 35 +: 8]} - {1'b0, idx[7-BEAT_LOG2:0], {BEAT_LOG2{1'b0}}};
            e = d + {7'd0, len} - 10'd1;
            // some byte 0..KEEP_WIDTH-1 lies in d..e: d <= KEEP_WIDTH-1 and e >= 0
            // (KEEP_WIDTH = 32: d < 32 is d negative or d[8:5] = 0)
            touch = !idx[8-BEAT_LOG2] && len != 0 && !e[9] && (d[9] || d[8:5] == 4'd0);
            patch_de[p*DE_W +: DE_W] = {touch, d[9], d[4:0],
                                        e[9:6] != 4'd0 ? 6'd63 : e[5:0]};
        end
    end
endfunction

// stage 1: per-byte selects of the beat
function [KEEP_WIDTH*SEL_W-1:0] patch_sel(input [NUM_PATCH*DE_W-1:0] de);
    integer j, p;
    reg       touch, d_neg;
    reg [4:0] d_lo;
    reg [5:0] e_c;
    reg [5:0] jj;
    begin
        patch_sel = 0;
        for (p = 0; p < NUM_PATCH; p = p + 1) begin
            {touch, d_neg, d_lo, e_c} = de[p*DE_W +: DE_W];
            for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
                jj = j;
                // d <= j <= e, as in the byte loop: pos >= off && pos - off < len
                if (touch && (d_neg || {1'b0, d_lo} <= jj) && jj <= e_c) begin
                    patch_sel[j*SEL_W +: SEL_W] = {1'b1, p[NP_W-1:0], e_c[2:0] - jj[2:0]};
                    // a value byte past the 4th is 0 (val >> 32 and more)
                    if (e_c > jj + 6'd3) patch_sel[j*SEL_W +: SEL_W] = {1'b1, p[NP_W-1:0], 3'd4};
                end
            end
        end
    end
endfunction

function [NUM_PATCH*32-1:0] patch_vals(input [NUM_PATCH*`WP_PATCH_WIDTH-1:0] patch);
    integer p;
    begin
        for (p = 0; p < NUM_PATCH; p = p + 1) patch_vals[p*32 +: 32] = patch[p*`WP_PATCH_WIDTH +: 32];
    end
endfunction

wire [BEAT_W-1:0]           pre_beat;
wire [NUM_PATCH*DE_W-1:0]   pre_de;
wire [NUM_PATCH*32-1:0]     pre_vals;
wire                        pre_valid;
wire                        pre_ready;

wp_axis_reg #(.WIDTH(PRE_W)) pre_reg_inst (
    .clk(clk),
    .rst(rst),
    .s_data({s_axis_tdata, s_axis_tkeep, s_axis_tuser, s_axis_tlast,
             patch_de(beat_idx_reg, act_patch), patch_vals(act_patch)}),
    .s_valid(pre_s_valid),
    .s_ready(pre_s_ready),
    .m_data({pre_beat, pre_de, pre_vals}),
    .m_valid(pre_valid),
    .m_ready(pre_ready)
);

wire [DATA_WIDTH-1:0]       mid_tdata;
wire [KEEP_WIDTH-1:0]       mid_tkeep;
wire [USER_WIDTH-1:0]       mid_tuser;
wire                        mid_tlast;
wire [KEEP_WIDTH*SEL_W-1:0] mid_sel;
wire [NUM_PATCH*32-1:0]     mid_vals;
wire                        mid_valid;
wire                        mid_ready;

wp_axis_reg #(.WIDTH(MID_W)) mid_reg_inst (
    .clk(clk),
    .rst(rst),
    .s_data({pre_beat, patch_sel(pre_de), pre_vals}),
    .s_valid(pre_valid),
    .s_ready(pre_ready),
    .m_data({mid_tdata, mid_tkeep, mid_tuser, mid_tlast, mid_sel, mid_vals}),
    .m_valid(mid_valid),
    .m_ready(mid_ready)
);

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

wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1)) out_reg_inst (
    .clk(clk),
    .rst(rst),
    .s_data({patch_beat(mid_tdata, mid_sel, mid_vals), mid_tkeep, mid_tuser, mid_tlast}),
    .s_valid(mid_valid),
    .s_ready(mid_ready),
    .m_data({m_axis_tdata, m_axis_tkeep, m_axis_tuser, m_axis_tlast}),
    .m_valid(m_axis_tvalid),
    .m_ready(m_axis_tready)
);

always @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) begin
        if (s_axis_tlast) begin
            beat_idx_reg <= 0;
        end else if (!beat_idx_reg[8-BEAT_LOG2]) begin
            beat_idx_reg <= beat_idx_reg + 1;
        end
    end
    if (rst) beat_idx_reg <= 0;
end

endmodule

`resetall
