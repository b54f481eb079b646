// wp_axil_split: one AXI4-Lite slave port to M_COUNT master ports, by address slot.
//
// Slot = s_axil_*addr[ADDR_WIDTH-1:SLOT_LSB]; slot k goes to master port k with the slot bits
// cleared. Slots >= M_COUNT answer DECERR (reads return 0). One write and one read in flight.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_axil_split #(
    // Number of master ports (slots)
    parameter M_COUNT = 4,
    // Width of the slave address
    parameter ADDR_WIDTH = 16,
    // Lowest address bit of the slot number (block aperture = 2**SLOT_LSB bytes)
    parameter SLOT_LSB = 12
) (
    input  wire                           clk,
    input  wire                           rst,

    input  wire [ADDR_WIDTH-1:0]          s_axil_awaddr,
    input  wire [2:0]                     s_axil_awprot,
    input  wire                           s_axil_awvalid,
    output wire                           s_axil_awready,
    input  wire [31:0]                    s_axil_wdata,
    input  wire [3:0]                     s_axil_wstrb,
    input  wire                           s_axil_wvalid,
    output wire                           s_axil_wready,
    output wire [1:0]                     s_axil_bresp,
    output wire                           s_axil_bvalid,
    input  wire                           s_axil_bready,
    input  wire [ADDR_WIDTH-1:0]          s_axil_araddr,
    input  wire [2:0]                     s_axil_arprot,
    input  wire                           s_axil_arvalid,
    output wire                           s_axil_arready,
    output wire [31:0]                    s_axil_rdata,
    output wire [1:0]                     s_axil_rresp,
    output wire                           s_axil_rvalid,
    input  wire                           s_axil_rready,

    output wire [M_COUNT*SLOT_LSB-1:0]    m_axil_awaddr,
    output wire [M_COUNT*3-1:0]           m_axil_awprot,
    output wire [M_COUNT-1:0]             m_axil_awvalid,
    input  wire [M_COUNT-1:0]             m_axil_awready,
    output wire [M_COUNT*32-1:0]          m_axil_wdata,
    output wire [M_COUNT*4-1:0]           m_axil_wstrb,
    output wire [M_COUNT-1:0]             m_axil_wvalid,
    input  wire [M_COUNT-1:0]             m_axil_wready,
    input  wire [M_COUNT*2-1:0]           m_axil_bresp,
    input  wire [M_COUNT-1:0]             m_axil_bvalid,
    output wire [M_COUNT-1:0]             m_axil_bready,
    output wire [M_COUNT*SLOT_LSB-1:0]    m_axil_araddr,
    output wire [M_COUNT*3-1:0]           m_axil_arprot,
    output wire [M_COUNT-1:0]             m_axil_arvalid,
    input  wire [M_COUNT-1:0]             m_axil_arready,
    input  wire [M_COUNT*32-1:0]          m_axil_rdata,
    input  wire [M_COUNT*2-1:0]           m_axil_rresp,
    input  wire [M_COUNT-1:0]             m_axil_rvalid,
    output wire [M_COUNT-1:0]             m_axil_rready
);

localparam SLOT_W = ADDR_WIDTH - SLOT_LSB;

initial begin
    if (SLOT_W < 1 || M_COUNT < 1 || M_COUNT > (1 << SLOT_W)) begin
        $error("Error: M_COUNT must be in 1..2**(ADDR_WIDTH-SLOT_LSB) (instance %m)");
        $finish;
    end
end

// write channel
reg              w_busy_reg = 1'b0;
reg              aw_pend_reg = 1'b0;
reg              w_pend_reg = 1'b0;
reg [SLOT_W-1:0] w_sel_reg = 0;
reg [SLOT_LSB-1:0] w_addr_reg = 0;
reg [2:0]        w_prot_reg = 0;
reg [31:0]       w_data_reg = 0;
reg [3:0]        w_strb_reg = 0;
reg              bvalid_reg = 1'b0;
reg [1:0]        bresp_reg = 2'b00;

wire w_take = !w_busy_reg && s_axil_awvalid && s_axil_wvalid;
wire w_sel_ok = w_sel_reg < M_COUNT;

assign s_axil_awready = w_take;
assign s_axil_wready = w_take;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_bresp = bresp_reg;

// read channel
reg              r_busy_reg = 1'b0;
reg              ar_pend_reg = 1'b0;
reg [SLOT_W-1:0] r_sel_reg = 0;
reg [SLOT_LSB-1:0] r_addr_reg = 0;
reg [2:0]        r_prot_reg = 0;
reg              rvalid_reg = 1'b0;
reg [31:0]       rdata_reg = 0;
reg [1:0]        rresp_reg = 2'b00;

wire r_take = !r_busy_reg && s_axil_arvalid;
wire r_sel_ok = r_sel_reg < M_COUNT;

assign s_axil_arready = r_take;
assign s_axil_rvalid = rvalid_reg;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = rresp_reg;

genvar k;
generate
for (k = 0; k < M_COUNT; k = k + 1) begin : port
    assign m_axil_awaddr[k*SLOT_LSB +: SLOT_LSB] = w_addr_reg;
    assign m_axil_awprot[k*3 +: 3] = w_prot_reg;
    assign m_axil_awvalid[k] = aw_pend_reg && w_sel_reg == k;
    assign m_axil_wdata[k*32 +: 32] = w_data_reg;
    assign m_axil_wstrb[k*4 +: 4] = w_strb_reg;
    assign m_axil_wvalid[k] = w_pend_reg && w_sel_reg == k;
    assign m_axil_bready[k] = w_busy_reg && !aw_pend_reg && !w_pend_reg && !bvalid_reg && w_sel_reg == k;
    assign m_axil_araddr[k*SLOT_LSB +: SLOT_LSB] = r_addr_reg;
    assign m_axil_arprot[k*3 +: 3] = r_prot_reg;
    assign m_axil_arvalid[k] = ar_pend_reg && r_sel_reg == k;
    assign m_axil_rready[k] = r_busy_reg && !ar_pend_reg && !rvalid_reg && r_sel_reg == k;
end
endgenerate

always @(posedge clk) begin
    if (w_take) begin
        w_busy_reg <= 1'b1;
        w_sel_reg <= s_axil_awaddr[ADDR_WIDTH-1:SLOT_LSB];
        w_addr_reg <= s_axil_awaddr[SLOT_LSB-1:0];
        w_prot_reg <= s_axil_awprot;
        w_data_reg <= s_axil_wdata;
        w_strb_reg <= s_axil_wstrb;
        aw_pend_reg <= s_axil_awaddr[ADDR_WIDTH-1:SLOT_LSB] < M_COUNT;
        w_pend_reg <= s_axil_awaddr[ADDR_WIDTH-1:SLOT_LSB] < M_COUNT;
        if (s_axil_awaddr[ADDR_WIDTH-1:SLOT_LSB] >= M_COUNT) begin
            bvalid_reg <= 1'b1;
            bresp_reg <= 2'b11;
        end
    end
    if (w_busy_reg && w_sel_ok) begin
        if (aw_pend_reg && m_axil_awready[w_sel_reg]) aw_pend_reg <= 1'b0;
        if (w_pend_reg && m_axil_wready[w_sel_reg]) w_pend_reg <= 1'b0;
        if (m_axil_bready[w_sel_reg] && m_axil_bvalid[w_sel_reg]) begin
            bvalid_reg <= 1'b1;
            bresp_reg <= m_axil_bresp[w_sel_reg*2 +: 2];
        end
    end
    if (bvalid_reg && s_axil_bready) begin
        bvalid_reg <= 1'b0;
        w_busy_reg <= 1'b0;
    end

    if (r_take) begin
        r_busy_reg <= 1'b1;
        r_sel_reg <= s_axil_araddr[ADDR_WIDTH-1:SLOT_LSB];
        r_addr_reg <= s_axil_araddr[SLOT_LSB-1:0];
        r_prot_reg <= s_axil_arprot;
        ar_pend_reg <= s_axil_araddr[ADDR_WIDTH-1:SLOT_LSB] < M_COUNT;
        if (s_axil_araddr[ADDR_WIDTH-1:SLOT_LSB] >= M_COUNT) begin
            rvalid_reg <= 1'b1;
            rdata_reg <= 32'd0;
            rresp_reg <= 2'b11;
        end
    end
    if (r_busy_reg && r_sel_ok) begin
        if (ar_pend_reg && m_axil_arready[r_sel_reg]) ar_pend_reg <= 1'b0;
        if (m_axil_rready[r_sel_reg] && m_axil_rvalid[r_sel_reg]) begin
            rvalid_reg <= 1'b1;
            rdata_reg <= m_axil_rdata[r_sel_reg*32 +: 32];
            rresp_reg <= m_axil_rresp[r_sel_reg*2 +: 2];
        end
    end
    if (rvalid_reg && s_axil_rready) begin
        rvalid_reg <= 1'b0;
        r_busy_reg <= 1'b0;
    end

    if (rst) begin
        w_busy_reg <= 1'b0;
        aw_pend_reg <= 1'b0;
        w_pend_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        r_busy_reg <= 1'b0;
        ar_pend_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
