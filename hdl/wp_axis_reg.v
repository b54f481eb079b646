// wp_axis_reg: a full-rate register slice (skid buffer) for one AXI4-Stream-like channel.
//
// m_data/m_valid come from registers and s_ready is a register, so no combinational path runs
// through the slice in either direction; with m_ready held high it passes one beat per cycle
// (one cycle of latency). When the output stalls, the beat accepted in that cycle waits in the
// skid register and s_ready drops for the next cycle. The skid register's data loads s_data in
// every cycle it is empty (the data of an empty skid is never read), so its enable is the one
// flip-flop skid_valid_reg and not s_valid / m_ready: in wp_axis_arb, s_valid is the granted
// input's valid from another block, and the skid's 417 enables behind it were the waypoint's
// slowest ECP5 path at d05bac9 (121.8 MHz, 86 % routing).
// s_ready is a flip-flop of its own, s_ready_reg (= !skid_valid_reg, kept so that yosys does
// not merge it back): skid_valid_reg selects and enables all 2 x WIDTH data flip-flops, so as
// s_ready it reached the producer's logic on a net of several hundred loads (wp_waypoint's
// nat input slice -> the dispatch FIFO's pop was its slowest ECP5 path at db94256, that net
// alone 2.5 ns of 8.18).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_axis_reg #(
    // Width of the payload (tdata, tkeep, tuser, tlast, ... concatenated)
    parameter WIDTH = 8
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready
);

reg [WIDTH-1:0] m_data_reg = {WIDTH{1'b0}};
reg             m_valid_reg = 1'b0;
reg [WIDTH-1:0] skid_data_reg = {WIDTH{1'b0}};
reg             skid_valid_reg = 1'b0;
reg             s_ready_reg = 1'b1;  // = !skid_valid_reg

assign s_ready = s_ready_reg;
assign m_data = m_data_reg;
assign m_valid = m_valid_reg;

always @(posedge clk) begin
    if (m_ready || !m_valid_reg) begin
        // the output register is free (or being read): refill it, the skid beat first
        if (skid_valid_reg) begin
            m_data_reg <= skid_data_reg;
            m_valid_reg <= 1'b1;
            skid_valid_reg <= 1'b0;
        end else begin
            m_data_reg <= s_data;
            m_valid_reg <= s_valid;
        end
    end else if (s_valid && !skid_valid_reg) begin
        // output stalled: keep the beat accepted this cycle
        skid_valid_reg <= 1'b1;
    end
    if (!skid_valid_reg) skid_data_reg <= s_data;
    if (rst) begin
        m_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

// skid_valid_reg's next state, inverted (keep: an identical flip-flop yosys would merge)
(* keep *)
always @(posedge clk) begin
    if (m_ready || !m_valid_reg) s_ready_reg <= 1'b1;
    else if (s_valid && s_ready_reg) s_ready_reg <= 1'b0;
    if (rst) s_ready_reg <= 1'b1;
end

`ifdef FORMAL
always @(*) assert (s_ready_reg == !skid_valid_reg);
`endif

endmodule

`resetall
