// wp_pe_out: output stage of a PE. Joins the frame FIFO with the per-frame action FIFO.
//
// For every frame the action FIFO holds {drop, NUM_PATCH patches}; a patch is
// {offset[7:0], len[2:0], value[31:0]}: bytes offset..offset+len-1 of the frame become the
// len low bytes of value, big-endian (len 0 = unused). A dropped frame is consumed at one beat
// per cycle without being output. The action entry is popped with the frame's last beat.
// The output is registered (wp_axis_reg): the patch logic ends at a register, not in the next
// module, and m_axis_tready reaches the FIFOs through a register too.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_pe_out #(
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = 128,
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
    input  wire [NUM_PATCH*43-1:0]      act_patch,
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

// the patched beat goes into the output register slice
wire [DATA_WIDTH-1:0] out_tdata;
wire                  out_tvalid;
wire                  out_tready;

wire active = s_axis_tvalid && act_valid;
assign out_tvalid = active && !act_drop;
assign s_axis_tready = active && (act_drop || out_tready);
assign act_ready = s_axis_tready && s_axis_tlast;

wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1)) out_reg_inst (
    .clk(clk),
    .rst(rst),
    .s_data({out_tdata, s_axis_tkeep, s_axis_tuser, s_axis_tlast}),
    .s_valid(out_tvalid),
    .s_ready(out_tready),
    .m_data({m_axis_tdata, m_axis_tkeep, m_axis_tuser, m_axis_tlast}),
    .m_valid(m_axis_tvalid),
    .m_ready(m_axis_tready)
);

// the patched beat: a function behind a continuous assignment (not always @*), so it is defined
// from time 0 in every simulator
function [DATA_WIDTH-1:0] patch_beat(input [DATA_WIDTH-1:0] data, input [8-BEAT_LOG2:0] idx,
    input [NUM_PATCH*43-1:0] patch);
    integer j, p;
    reg [8:0] pos;
    reg [7:0] off;
    reg [2:0] len;
    reg [31:0] val;
    reg [8:0] k;
    begin
        patch_beat = data;
        for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
            pos = {idx, {BEAT_LOG2{1'b0}}} + j;
            for (p = 0; p < NUM_PATCH; p = p + 1) begin
                off = patch[p*43 + 35 +: 8];
                len = patch[p*43 + 32 +: 3];
                val = patch[p*43 +: 32];
                k = pos - off;
                if (!idx[8-BEAT_LOG2] && pos >= off && k < len) begin
                    patch_beat[j*8 +: 8] = val >> (8 * (len - 1 - k));
                end
            end
        end
    end
endfunction

assign out_tdata = patch_beat(s_axis_tdata, beat_idx_reg, act_patch);

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
